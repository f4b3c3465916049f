import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createBusinessEngineClient } from '../../../generated/business-engine/client.js';
import { parseSharedSecret } from '../../../server/protocol/engine-auth-secret.js';
import { engineProcessEnv, runServiceMain } from '../../contract/support/service-process.js';
import { idempotentTtt, refusedBaseUrl, startFakeTtt, type FakeTtt } from '../../helpers/engine-fake-ttt.js';
import { createTestDatabase } from '../../helpers/postgres.js';
import { mintUserJwt } from '../../helpers/user-tokens.js';

/*
 * The engine as a real process on PostgreSQL: killed with SIGKILL in the middle of a submission (TTTranscribe has
 * received it and never answers), restarted on the same database, the client's resubmission gets the one job; and
 * a database unreachable at start stops the process with a message naming ENGINE_DB, without the password.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Starts server/business-engine/main.ts and resolves with its URL once it logs that it listens. */
function startEngine(env: Record<string, string>): Promise<{ url: string; child: ChildProcessWithoutNullStreams }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/business-engine/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  children.push(child);
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the engine did not start: ${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`the engine exited ${code}: ${stderr}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'Business Engine listening' && entry.url) {
          clearTimeout(timer);
          resolve({ url: entry.url, child });
        }
      }
    });
  });
}

const killed = (child: ChildProcessWithoutNullStreams) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

describe('the engine process on PostgreSQL, SIGKILLed mid-submission', () => {
  it('after a restart, the resubmission of the token gets the job TTTranscribe stored, once', async () => {
    const db = await createTestDatabase('engine_sigkill');
    cleanups.push(db.drop);
    const env = await engineProcessEnv({
      ENGINE_DB: db.url,
      SIGNUP_BONUS_CREDITS: '3',
      ENGINE_SWEEP_INTERVAL_SEC: '3600',
    });
    const ttt: FakeTtt = await startFakeTtt({
      keys: [parseSharedSecret('TTT_SHARED_SECRET', env['TTT_SHARED_SECRET'])],
      now: Date.now,
    });
    cleanups.push(() => ttt.close());
    env['TTT_BASE_URL'] = ttt.baseUrl;
    const fake = idempotentTtt();
    let received!: () => void;
    const forwarded = new Promise<void>((resolve) => (received = resolve));
    // The first submission is stored and then never answered: the engine is between TTTranscribe and its own commit.
    ttt.respond((req) => {
      const answer = fake.handler(req);
      if (req.method === 'POST' && fake.jobs.length === 1 && fake.replays.length === 0) {
        received();
        return 'hang';
      }
      return answer;
    });

    const first = await startEngine(env);
    const client = createBusinessEngineClient({ baseUrl: first.url });
    const user = { Authorization: `Bearer ${await mintUserJwt({ sub: 'killed-user' })}` };
    const { data: vended } = await client.POST('/v1/vend-token', {
      body: { clientRequestId: 'sigkill-1' },
      headers: user,
    });
    const auth = { Authorization: `Bearer ${vended!.token}` };
    const lost = client
      .POST('/ttt/transcribe', { body: { url: 'https://media.example.com/a.mp4' }, headers: auth })
      .catch((e: unknown) => e);
    await forwarded;
    await killed(first.child);
    await lost;

    const second = await startEngine(env);
    const again = createBusinessEngineClient({ baseUrl: second.url });
    const resubmitted = await again.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/a.mp4' },
      headers: auth,
    });
    expect(resubmitted.response.status).toBe(202);
    expect(resubmitted.data?.jobId).toBe(fake.jobs[0]!.jobId);
    expect(fake.jobs).toHaveLength(1);
    expect(fake.replays).toEqual([fake.jobs[0]!.jobId]);
    const sent = ttt.requests.filter((r) => r.method === 'POST');
    expect(sent.map((r) => r.headers['idempotency-key'])).toEqual([
      sent[0]!.headers['idempotency-key'],
      sent[0]!.headers['idempotency-key'],
    ]);
    const { data: ledger } = await again.GET('/v1/credits/ledger', { headers: user });
    expect(ledger?.entries.map((e) => [e.kind, e.reason])).toEqual([
      ['charge', 'vend_token'],
      ['grant', 'signup_bonus'],
    ]);
    const third = await again.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/a.mp4' },
      headers: auth,
    });
    expect(third.error).toMatchObject({
      code: 'service_token_already_used',
      details: { jobId: fake.jobs[0]!.jobId, refunded: false },
    });
    await killed(second.child);
  });
});

describe('the engine process with a PostgreSQL database unreachable at start', () => {
  it('exits 1 naming ENGINE_DB and the cause, never printing the password', async () => {
    const port = new URL(await refusedBaseUrl()).port;
    const env = await engineProcessEnv({ ENGINE_DB: `postgresql://engine:TEST-ONLY-hunter2@127.0.0.1:${port}/engine` });
    const exit = await runServiceMain('business-engine', env);
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('ENGINE_DB');
    expect(exit.stderr).toContain(`postgresql://engine:***@127.0.0.1:${port}/engine`);
    expect(exit.stderr).toMatch(/ECONNREFUSED/);
    expect(exit.stdout + exit.stderr).not.toContain('TEST-ONLY-hunter2');
  });
});
