import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSharedSecret, parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { parseEngineAuthHeader } from '../../../../server/protocol/engine-auth.js';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp } from '../../../helpers/engine-app.js';
import { startFakeTtt, upstreamProblem, type FakeTtt } from '../../../helpers/engine-fake-ttt.js';

const AT = new Date(ENGINE_T0_MS).toISOString();
const statusBody = (jobId: string) => ({
  ok: true,
  jobId,
  status: 'processing',
  stage: 'transcribing',
  progress: 0.5,
  submittedAt: AT,
  startedAt: AT,
  completedAt: null,
  updatedAt: AT,
});

describe('the signed upstream client', () => {
  it('is the only TTTranscribe client in the engine: no module builds an unsigned one', () => {
    const root = new URL('../../../../server/business-engine/', import.meta.url).pathname;
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk(root);
    const users = files.filter((f) => /import\s*\{[^}]*\bcreateTttranscribeClient\b/.test(readFileSync(f, 'utf8')));
    expect(users.map((f) => f.slice(root.length))).toEqual(['upstream/ttt-client.ts']);
  });

  it('exports only the signed factory', async () => {
    const module = await import('../../../../server/business-engine/upstream/ttt-client.js');
    expect(Object.keys(module)).toEqual(['createSignedTttClient']);
  });
});

describe('TTTranscribe calls: retries, signing per attempt, pass-through', () => {
  let be: EngineTestApp;
  let ttt: FakeTtt;
  let n = 0;
  beforeAll(async () => {
    const secret = generateSharedSecret();
    const next = generateSharedSecret();
    const clock = { ms: ENGINE_T0_MS };
    // TTTranscribe knows only the NEXT key: the engine, mid-rotation, signs with both.
    ttt = await startFakeTtt({ keys: [parseSharedSecret('TTT_SHARED_SECRET', next)], now: () => clock.ms });
    be = await startEngineTestApp({
      clock,
      env: {
        TTT_SHARED_SECRET: secret,
        TTT_SHARED_SECRET_NEXT: next,
        TTT_BASE_URL: ttt.baseUrl,
        SIGNUP_BONUS_CREDITS: '50',
      },
    });
  });
  afterAll(async () => {
    await be.close();
    await ttt.close();
  });

  const submitJob = async (jobId: string) => {
    ttt.respond(() => ({ status: 202, body: { ok: true, jobId, status: 'queued', submittedAt: AT } }));
    const { data } = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: `u-${(n += 1)}` },
      headers: be.bearer(await be.userJwt({ sub: 'up-user' })),
    });
    const submitted = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/a.mp4' },
      headers: be.bearer(data!.token),
    });
    expect(submitted.response.status).toBe(202);
    return data!.token;
  };

  it('signs with every configured key during a rotation', async () => {
    await submitJob('job_ROTATION00000001');
    const last = ttt.requests.at(-1)!;
    expect(last.engineAuth).toMatchObject({ ok: true, keyId: be.config.tttKeys[1]!.keyId });
    const parsed = parseEngineAuthHeader(String(last.headers['x-engine-auth']));
    expect(parsed.ok && parsed.value.signatures.map((s) => s.keyId)).toEqual(be.config.tttKeys.map((k) => k.keyId));
  });

  // Before the failure tests below: they open the circuit (correctly).
  it("passes on TTTranscribe's 409 service_token_already_used and follows the job it names", async () => {
    ttt.respond(() =>
      upstreamProblem(409, 'service_token_already_used', 'This service token already submitted a job.', {
        jobId: 'job_EARLIER000000001',
      }),
    );
    const { data } = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: `u-${(n += 1)}` },
      headers: be.bearer(await be.userJwt({ sub: 'up-user' })),
    });
    const { error, response } = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/a.mp4' },
      headers: be.bearer(data!.token),
    });
    expect(response.status).toBe(409);
    expect(error).toMatchObject({ code: 'service_token_already_used', details: { jobId: 'job_EARLIER000000001' } });
    expect(await be.engine.store.tokens.get(data!.tokenId)).toMatchObject({
      state: 'submitted',
      jobId: 'job_EARLIER000000001',
    });
  });

  it('retries a status read after a transient 503, re-signing each attempt with a fresh nonce', async () => {
    const token = await submitJob('job_RETRY0000000001');
    let calls = 0;
    ttt.respond(() =>
      (calls += 1) === 1
        ? upstreamProblem(503, 'service_unavailable', 'starting')
        : { status: 200, body: statusBody('job_RETRY0000000001') },
    );
    const before = ttt.requests.length;
    const { data, response } = await be.client.GET('/ttt/status/{jobId}', {
      params: { path: { jobId: 'job_RETRY0000000001' } },
      headers: be.bearer(token),
    });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ status: 'processing', creditRefunded: false });
    const attempts = ttt.requests.slice(before);
    expect(attempts).toHaveLength(2);
    expect(attempts.every((a) => a.engineAuth.ok)).toBe(true);
    const nonces = attempts.map((a) => {
      const p = parseEngineAuthHeader(String(a.headers['x-engine-auth']));
      return p.ok ? p.value.nonce : '';
    });
    expect(new Set(nonces).size).toBe(2);
  });

  it('gives up after the bounded retries and answers upstream_unavailable', async () => {
    const token = await submitJob('job_RETRY0000000002');
    ttt.respond(() => upstreamProblem(503, 'service_unavailable', 'shutting down'));
    const before = ttt.requests.length;
    const { error, response } = await be.client.GET('/ttt/status/{jobId}', {
      params: { path: { jobId: 'job_RETRY0000000002' } },
      headers: be.bearer(token),
    });
    expect(response.status).toBe(503);
    expect(error).toMatchObject({ code: 'upstream_unavailable', details: { reason: 'upstream_503' } });
    expect(error?.details).not.toHaveProperty('creditRefunded');
    expect(ttt.requests.length - before).toBe(3);
  });

  it('never retries a submission', async () => {
    ttt.respond((req) =>
      req.method === 'POST'
        ? upstreamProblem(503, 'service_unavailable', 'shutting down')
        : upstreamProblem(404, 'job_not_found', 'No job was stored under this Idempotency-Key.'),
    );
    const { data } = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: `u-${(n += 1)}` },
      headers: be.bearer(await be.userJwt({ sub: 'up-user' })),
    });
    const before = ttt.requests.length;
    const { error } = await be.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/a.mp4' },
      headers: be.bearer(data!.token),
    });
    expect(error).toMatchObject({
      code: 'upstream_unavailable',
      details: { reason: 'upstream_503', creditRefunded: true },
    });
    // One POST; then one lookup by its key, which found no job (so the credit went back).
    expect(ttt.requests.slice(before).map((r) => r.method)).toEqual(['POST', 'GET']);
  });
});
