import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPluctClient } from '../../../../client/sdk/pluct-client.js';
import { STACK_ADMIN_TOKEN, startRealStack, type RealStack } from '../../support/real-stack.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';
import { runPluct } from '../../support/run-pluct.js';

let stack: RealStack;
const cleanup = createCleanupStack();
const dir = mkdtempSync(join(tmpdir(), 'pluct-grant-'));
cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  stack = await startRealStack();
  cleanup.defer(() => stack.close());
  writeFileSync(join(dir, '.env'), `ADMIN_TOKEN=${STACK_ADMIN_TOKEN}\n`, { mode: 0o600 });
});
afterAll(() => cleanup.run());

describe('pluct credits grant (process)', { timeout: 60_000 }, () => {
  it('grants credits with the admin token of the local .env, never printing it', async () => {
    const run = await runPluct(
      [
        'credits',
        'grant',
        '--user',
        'grantee',
        '--amount',
        '10',
        '--reason',
        'test grant',
        '--engine',
        stack.engineUrl,
      ],
      { cwd: dir },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Granted 10 credits to grantee: balance 13 \(main 10, bonus 3\); ledger entry \d+\.\n$/,
    );
    expect(run.stdout + run.stderr).not.toContain(STACK_ADMIN_TOKEN);
    const ledger = await createPluctClient({
      baseUrl: stack.engineUrl,
      getUserToken: () => stack.userJwt('grantee'),
    }).ledger({ limit: 5 });
    expect(JSON.stringify(ledger.data)).toContain('test grant');
  });

  it('adds to the bonus bucket with --bonus and prints JSON with --json', async () => {
    const run = await runPluct(
      [
        'credits',
        'grant',
        '--user',
        'bonus-grantee',
        '--amount',
        '2',
        '--bonus',
        '--json',
        '--engine',
        stack.engineUrl,
      ],
      { cwd: dir },
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, userId: 'bonus-grantee', balance: 5, main: 0, bonus: 5 });
  });

  it('grants once per --key: running the same command again prints the first grant, another amount is refused', async () => {
    const args = [
      'credits',
      'grant',
      '--user',
      'keyed',
      '--amount',
      '4',
      '--key',
      'order-77',
      '--engine',
      stack.engineUrl,
    ];
    const first = await runPluct(args, { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Granted 4 credits to keyed: balance 7 /);
    const again = await runPluct(args, { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^Already granted with key order-77 \(nothing added\): that grant left keyed at balance 7 /,
    );
    const other = await runPluct(
      ['credits', 'grant', '--user', 'keyed', '--amount', '40', '--key', 'order-77', '--engine', stack.engineUrl],
      { cwd: dir },
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/idempotency_key_reused \(422 /);
    const balance = await createPluctClient({
      baseUrl: stack.engineUrl,
      getUserToken: () => stack.userJwt('keyed'),
    }).balance();
    expect(balance.data).toMatchObject({ balance: 7 });
    const bad = await runPluct(['credits', 'grant', '--user', 'x', '--amount', '1', '--key', 'has space'], {
      cwd: dir,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--key 'has space' must be 1-128 of");
  });

  /** A stand-in engine answering each grant request by `answers[n]`: a status, or 'drop' (no answer at all). */
  async function fakeEngine(answers: Array<number | 'drop' | 'replay'>) {
    const keys: string[] = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        keys.push((JSON.parse(text) as { clientRequestId: string }).clientRequestId);
        const answer = answers[keys.length - 1] ?? 200;
        if (answer === 'drop') {
          req.socket.destroy();
          return;
        }
        if (typeof answer === 'number' && answer >= 500) {
          res.writeHead(answer, { 'content-type': 'application/problem+json', 'retry-after': '0' });
          res.end(
            JSON.stringify({
              type: '/docs/errors.html#service_unavailable',
              title: 'Service unavailable',
              status: answer,
              code: 'service_unavailable',
              detail: 'TEST-ONLY',
              retryable: true,
              requestId: 'req_x',
            }),
          );
          return;
        }
        res.writeHead(200, {
          'content-type': 'application/json',
          ...(answer === 'replay' ? { 'idempotent-replayed': 'true' } : {}),
        });
        res.end(JSON.stringify({ ok: true, userId: 'retried', entryId: 5, balance: 4, main: 1, bonus: 3 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { keys, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }
  const grantVia = (url: string) =>
    runPluct(['credits', 'grant', '--user', 'retried', '--amount', '1', '--engine', url], { cwd: dir });

  it('sends a grant answered 503 or 502 again with the same key, and reports the answer', async () => {
    const engine = await fakeEngine([503, 502, 200]);
    const run = await grantVia(engine.url);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Granted 1 credit to retried: balance 4 \(main 1, bonus 3\); ledger entry 5\.\n$/);
    expect(engine.keys).toHaveLength(3);
    expect(engine.keys[0]).toMatch(/^pluct-[0-9a-f-]{36}$/);
    expect(new Set(engine.keys).size).toBe(1);
  });

  it('reports its own grant, not "already granted", when the retry after a lost answer is a replay', async () => {
    const engine = await fakeEngine(['drop', 'replay']);
    const run = await grantVia(engine.url);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^Granted 1 credit to retried: .* \(confirmed on a retry with key pluct-[0-9a-f-]{36}\)\.\n$/,
    );
    expect(engine.keys[1]).toBe(engine.keys[0]);
  });

  it('prints its key to retry with when it gave up after a send that may have granted', async () => {
    const engine = await fakeEngine(['drop', 503, 503]);
    const run = await grantVia(engine.url);
    expect(run.code).toBe(1);
    expect(engine.keys).toHaveLength(3);
    expect(run.stderr).toContain(
      `the grant may have been made; run the command again with --key ${engine.keys[0]} to retry it safely`,
    );
  });

  it('says where the admin token was looked for when there is none', async () => {
    const run = await runPluct(['credits', 'grant', '--user', 'x', '--amount', '1', '--engine', stack.engineUrl]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no ADMIN_TOKEN in the environment or in .*\.env \(not found\)/);
  });

  it('prints the catalog error for a wrong admin token, without the token', async () => {
    const wrong = 'pla_wrong-admin-token-0000000000000000000000';
    const run = await runPluct(['credits', 'grant', '--user', 'x', '--amount', '1', '--engine', stack.engineUrl], {
      env: { ADMIN_TOKEN: wrong },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error: \w+ \(401 /);
    expect(run.stderr).toMatch(/request id: req_/);
    expect(run.stdout + run.stderr).not.toContain(wrong);
  });

  it('refuses an amount that is not a whole number from 1 to 100000 (usage error)', async () => {
    for (const amount of ['0', '1.5', 'ten', '100001']) {
      const run = await runPluct(['credits', 'grant', '--user', 'x', '--amount', amount], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--amount '${amount}' must be a whole number from 1 to 100000.`);
    }
  });

  it('is what the 402 insufficient_credits guidance tells a user out of credits to do', async () => {
    const token = await stack.userJwt('spent-user');
    const pluct = createPluctClient({ baseUrl: stack.engineUrl, getUserToken: () => Promise.resolve(token) });
    for (let i = 0; i < 3; i++) expect((await pluct.vendToken()).error).toBeUndefined();
    const run = await runPluct([
      'transcribe',
      'https://media.example.com/clip.mp4',
      '--engine',
      stack.engineUrl,
      '--token',
      token,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/insufficient_credits \(402 Insufficient credits\)/);
    expect(run.stderr).toMatch(
      /what to do: .*POST \/admin\/credits\/grant.*npx pluct credits grant --user <id> --amount <n>/,
    );
  });
});
