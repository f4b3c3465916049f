import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
