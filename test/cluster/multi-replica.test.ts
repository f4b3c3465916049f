/**
 * Issue 19, item 5: the multi-replica topology on one PostgreSQL. HAProxy (round-robin, health checks) in front
 * of 2 Business Engines and 2 TTTranscribe API processes, plus 2 TTTranscribe workers, all started from their
 * real entry points (scripts/cluster). Engines reach TTTranscribe through its load balancer. What must hold:
 * no credit lost or doubled, no replay accepted, no job processed twice or lost, one rate limit in total.
 *
 * This needs the PostgreSQL backends (ENGINE_DB / TTT_DB as postgres:// URLs), the separate workers
 * (server/tttranscribe/worker-main.ts) and the shared nonce cache and rate limits. Where one is missing, the
 * cluster refuses to start or an assertion below fails, saying which guarantee broke; nothing is skipped.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFailureCodes } from '../../generated/errors.js';
import { startCluster, type Cluster } from '../../scripts/cluster/cluster.js';
import { generateChainSecrets, type ChainSecrets } from '../../server/sandbox/chain-secrets.js';
import { ENGINE_AUTH_HEADER, signEngineAuth } from '../../server/protocol/engine-auth.js';
import { engineAuthKeysFromEnv } from '../../server/protocol/engine-auth-secret.js';
import { routes, startMediaServer, type MediaServer } from '../fixtures/media-server.js';
import { createMediaFixtures, type MediaFixtures } from '../fixtures/media.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { mintUserJwt } from '../helpers/user-tokens.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const CREDITS = 50;
const TRANSCRIBE_PER_MIN = 3;
const TRANSCRIPT = 'the stand in speech program heard this';
const SPEECH_SECONDS = 4;

/** The members of the engine's JSON answers (success bodies and problems) that these checks read. */
interface ReplyBody {
  code?: string;
  status?: string;
  token?: string;
  tokenId?: string;
  jobId?: string;
  balance?: number;
  transcript?: string;
  creditRefunded?: boolean;
  error?: { code?: string };
  entries?: Array<{ kind: string; reason: string; tokenId: string | null; jobId: string | null }>;
  nextCursor?: string | null;
}

let cluster: Cluster;
let secrets: ChainSecrets;
let media: MediaServer;
let fixtures: MediaFixtures;
let marks: string;
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  secrets = await generateChainSecrets();
  const [engineDb, tttDb] = await Promise.all([
    createTestDatabase('cluster_engine'),
    createTestDatabase('cluster_ttt'),
  ]);
  cleanups.push(
    () => engineDb.drop(),
    () => tttDb.drop(),
  );
  fixtures = await createMediaFixtures();
  cleanups.push(() => fixtures.cleanup());
  media = await startMediaServer({ '/clip.mp3': routes.file(await fixtures.tone(2), 'audio/mpeg') });
  cleanups.push(() => media.close());
  // The slow speech program: notes which process ran it (its parent: the worker) when it starts and when it
  // finishes, so the test can kill the worker mid-job and count completions.
  marks = mkdtempSync(join(tmpdir(), 'pluct-cluster-marks-'));
  cleanups.push(() => rmSync(marks, { recursive: true, force: true }));
  const program = join(marks, 'slow-speech.sh');
  writeFileSync(
    program,
    [
      '#!/bin/sh',
      `echo "$PPID" > "${marks}/start-$$"`,
      `sleep ${SPEECH_SECONDS}`,
      `echo "$PPID" > "${marks}/done-$$"`,
      `echo "${TRANSCRIPT}"`,
      '',
    ].join('\n'),
  );
  chmodSync(program, 0o755);
  try {
    cluster = await startCluster({
      root,
      engines: 2,
      ttts: 2,
      workers: 2,
      database: { kind: 'postgres', engineUrl: engineDb.url, tttUrl: tttDb.url },
      env: {
        ...secrets,
        LOG_LEVEL: 'warn',
        SIGNUP_BONUS_CREDITS: String(CREDITS),
        RATE_LIMIT_VEND_PER_MIN: '1000',
        RATE_LIMIT_READ_PER_MIN: '100000', // the test polls job status and ledgers freely
        RATE_LIMIT_TRANSCRIBE_PER_MIN: String(TRANSCRIBE_PER_MIN),
        ENGINE_DB_POOL_MAX: '5',
        TTT_DB_POOL_MAX: '3',
        TTT_TRANSCRIBER: 'command',
        TTT_TRANSCRIBER_COMMAND: `${program} {wav}`,
        TTT_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8',
        TTT_WORKER_CONCURRENCY: '1',
        // A short lease so a killed worker's job is reclaimed within the test's budget (name per issue 19 item 3).
        TTT_JOB_LEASE_SEC: '5',
      },
    });
  } catch (error) {
    throw new Error(
      `The multi-replica cluster did not start on PostgreSQL (until the PostgreSQL backends and separate workers of issue 19 are merged, this is the expected failure): ${(error as Error).message}`,
      { cause: error },
    );
  }
  cleanups.push(() => cluster.stop(5_000));
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
}, 60_000);

const userToken = (sub: string) =>
  mintUserJwt({ sub, scope: 'ttt:transcribe credits:read', secret: secrets.USER_JWT_SECRET });

async function call(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  const body = (text ? JSON.parse(text) : {}) as ReplyBody;
  return { status: response.status, body, instance: response.headers.get('x-instance-id'), headers: response.headers };
}

async function ledger(
  token: string,
): Promise<Array<{ kind: string; reason: string; tokenId: string | null; jobId: string | null }>> {
  const { body } = await call(`${cluster.engineUrl}/v1/credits/ledger?limit=200`, { token });
  expect(body['nextCursor'], 'the ledger fits one page').toBeNull();
  return body['entries']!;
}

const vend = (token: string, clientRequestId = crypto.randomUUID(), base = cluster.engineUrl) =>
  call(`${base}/v1/vend-token`, { token, body: { clientRequestId } });

describe('multi-replica on one PostgreSQL', () => {
  it(
    '200 parallel vends for one user holding 50 credits, over both engines, give exactly 50 tokens and a balance of 0',
    { timeout: 60_000 },
    async () => {
      const token = await userToken('cluster-race-user');
      const results = await Promise.all(Array.from({ length: 200 }, () => vend(token)));
      const granted = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status !== 200);
      expect(new Set(results.map((r) => r.instance)), 'both engines answered').toEqual(
        new Set(['engine-1', 'engine-2']),
      );
      expect(new Set(granted.map((r) => r.instance)).size, 'both engines vended').toBe(2);
      expect(granted).toHaveLength(CREDITS);
      expect(new Set(granted.map((r) => r.body['tokenId'])).size, 'no token vended twice').toBe(CREDITS);
      expect(refused.map((r) => `${r.status} ${r.body['code']}`)).toEqual(
        Array(200 - CREDITS).fill('402 insufficient_credits'),
      );
      const balance = await call(`${cluster.engineUrl}/v1/credits/balance`, { token });
      expect(balance.body).toMatchObject({ balance: 0, main: 0, bonus: 0 });
      const entries = await ledger(token);
      expect(entries.filter((e) => e.kind === 'charge')).toHaveLength(CREDITS);
      expect(entries.filter((e) => e.kind === 'refund')).toHaveLength(0);
    },
  );

  it('one clientRequestId sent to both engine replicas at once charges once', { timeout: 30_000 }, async () => {
    const token = await userToken('cluster-idempotency-user');
    const key = crypto.randomUUID();
    const [a, b] = cluster.engines.map((e) => e.url as string) as [string, string];
    const first = await Promise.all([vend(token, key, a), vend(token, key, b)]);
    expect(new Set(first.map((r) => r.instance))).toEqual(new Set(['engine-1', 'engine-2']));
    const ok = first.filter((r) => r.status === 200);
    expect(ok.length, 'at least one replica answers with the token').toBeGreaterThanOrEqual(1);
    for (const r of first.filter((x) => x.status !== 200))
      expect(`${r.status} ${r.body['code']}`).toBe('409 idempotency_in_progress');
    const tokenId = ok[0]!.body['tokenId'] as string;
    for (const r of ok) expect(r.body['tokenId']).toBe(tokenId);
    // Afterwards both replicas replay the one answer.
    for (const base of [a, b]) {
      const replay = await vend(token, key, base);
      expect(replay.status).toBe(200);
      expect(replay.body['tokenId']).toBe(tokenId);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    }
    const charges = (await ledger(token)).filter((e) => e.kind === 'charge');
    expect(charges.map((c) => c.tokenId)).toEqual([tokenId]);
    expect((await call(`${cluster.engineUrl}/v1/credits/balance`, { token })).body['balance']).toBe(CREDITS - 1);
  });

  it('a signed request replayed to the other TTTranscribe replica gets 401 engine_auth_replayed', async () => {
    const keys = engineAuthKeysFromEnv({ TTT_SHARED_SECRET: secrets.TTT_SHARED_SECRET });
    const body = '{}';
    const { header } = signEngineAuth({
      keys,
      method: 'POST',
      target: '/test/validate-engine-auth',
      body,
      bearerToken: undefined,
    });
    const [one, two] = cluster.ttts.map((t) => `${t.url}/test/validate-engine-auth`) as [string, string];
    const accepted = await call(one, { body, headers: { [ENGINE_AUTH_HEADER]: header } });
    expect(accepted.status).toBe(200);
    expect(accepted.instance).toBe('ttt-1');
    const replayed = await call(two, { body, headers: { [ENGINE_AUTH_HEADER]: header } });
    expect(replayed.instance).toBe('ttt-2');
    expect(
      `${replayed.status} ${replayed.body['code']}`,
      'ttt-2 must know the nonce ttt-1 saw (a shared replay cache)',
    ).toBe('401 engine_auth_replayed');
  });

  it(
    'a worker killed with SIGKILL mid-job: the job is completed by the other worker or failed and refunded, exactly once',
    { timeout: 90_000 },
    async () => {
      const token = await userToken('cluster-kill-user');
      const vended = await vend(token);
      expect(vended.status).toBe(200);
      const submitted = await call(`${cluster.engineUrl}/ttt/transcribe`, {
        token: vended.body['token'],
        body: { url: media.url('/clip.mp3'), language: 'en' },
      });
      expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
      const jobId = submitted.body['jobId'] as string;

      // A marker counts once its line is complete (the shell creates the file before it writes the pid).
      const runners = () =>
        readdirSync(marks)
          .filter((f) => f.startsWith('start-'))
          .map((f) => ({ program: Number(f.slice('start-'.length)), worker: readFileSync(join(marks, f), 'utf8') }))
          .filter((r) => /^\d+\n$/.test(r.worker));
      const started = await waitFor(runners, (found) => found.length > 0, 30_000, 'the speech program to start');
      const runnerPid = Number(started[0]!.worker.trim());
      const victim = cluster.workers.find((w) => w.service.child.pid === runnerPid);
      expect(
        victim,
        `the job ran in process ${runnerPid}, which is not one of the workers (${cluster.workers.map((w) => `${w.name}=${w.service.child.pid}`).join(', ')}): API replicas must not run jobs (TTT_RUN_WORKER=false)`,
      ).toBeDefined();
      // A host lost mid-job: SIGKILL to the worker's process group and to the speech program (which the command
      // engine starts in a group of its own).
      victim!.service.kill();
      try {
        process.kill(started[0]!.program, 'SIGKILL');
      } catch {
        // Already gone with the worker.
      }
      await victim!.service.exited;

      const poll = () => call(`${cluster.engineUrl}/ttt/status/${jobId}`, { token });
      const final = await waitFor(
        poll,
        (r) => ['completed', 'failed'].includes(r.body['status'] ?? ''),
        75_000,
        `job ${jobId} to finish after its worker was killed`,
      );
      // Polled at once from both engines: the outcome (and any refund) is settled once.
      const polls = await Promise.all([
        ...cluster.engines.map((e) => call(`${e.url}/ttt/status/${jobId}`, { token })),
        poll(),
        poll(),
      ]);
      for (const p of polls) expect(p.body['status']).toBe(final.body['status']);
      const entries = (await ledger(token)).filter((e) => e.tokenId === vended.body['tokenId']);
      const completions = readdirSync(marks)
        .filter((f) => f.startsWith('done-'))
        .filter((f) => Number(readFileSync(join(marks, f), 'utf8').trim()) !== runnerPid); // the killed worker's program never finishes
      if (final.body['status'] === 'completed') {
        expect(final.body['transcript']).toContain(TRANSCRIPT);
        expect(completions, 'completed exactly once, by the surviving worker').toHaveLength(1);
        expect(
          readdirSync(marks).filter((f) => f.startsWith('done-')),
          'the killed program did not finish either',
        ).toHaveLength(1);
        expect(entries.map((e) => e.kind)).toEqual(['charge']);
        expect(final.body['creditRefunded']).toBe(false);
      } else {
        expect(jobFailureCodes).toContain(final.body['error']?.code);
        expect(completions, 'a failed job was never completed').toHaveLength(0);
        expect(final.body['creditRefunded']).toBe(true);
        expect(entries.map((e) => e.kind).sort()).toEqual(['charge', 'refund']);
      }
    },
  );

  it(`a rate limit of ${TRANSCRIBE_PER_MIN} per minute holds across both engines`, { timeout: 30_000 }, async () => {
    const token = await userToken('cluster-limited-user');
    const tokens = await Promise.all(Array.from({ length: 8 }, () => vend(token)));
    // A media URL nothing serves: accepted submissions fail fast at fetch and are refunded.
    const results = await Promise.all(
      tokens.map((t) =>
        call(`${cluster.engineUrl}/ttt/transcribe`, {
          token: t.body['token'],
          body: { url: media.url('/missing.mp3') },
        }),
      ),
    );
    expect(new Set(results.map((r) => r.instance))).toEqual(new Set(['engine-1', 'engine-2']));
    const limited = results.filter((r) => r.status === 429);
    for (const r of limited) {
      expect(r.body['code']).toBe('rate_limited');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    const passed = results.filter((r) => r.status !== 429);
    for (const r of passed) expect(r.status, JSON.stringify(r.body)).toBe(202);
    expect(passed.length, `${TRANSCRIBE_PER_MIN} in total, not ${TRANSCRIBE_PER_MIN} per replica`).toBe(
      TRANSCRIBE_PER_MIN,
    );
  });
});

async function waitFor<T>(
  get: () => T | Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await get();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
}
