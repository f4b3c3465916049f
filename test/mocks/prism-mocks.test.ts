/**
 * The Prism mocks (`npm run mock`, mocks/start-mocks.ts) on free ports: they return the specs' success
 * examples, any catalog error on request (`Prefer: code=..., example=<code>`), and the TTTranscribe mock rejects
 * a request without X-Engine-Auth like the real service (401 missing_engine_auth_header).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startMocks, type RunningMocks } from '../../mocks/start-mocks.js';
import { createCleanupStack } from '../helpers/cleanup-stack.js';

const catalog = parse(readFileSync(new URL('../../spec/shared/errors.yaml', import.meta.url), 'utf8')) as {
  problems: Record<string, { value: Record<string, unknown> }>;
};
const JOB = 'job_01JD0000000000000000000000';
/** Prism only checks that the apiKey header is present; the value is not verified. */
const ENGINE_AUTH = { 'X-Engine-Auth': 'v1;t=1767225600;n=dmVjdG9yLW5vbmNlLTAxLg;sig=cfee8db761146f8b:x' };
const USER = { Authorization: 'Bearer any-token' };

let mocks: RunningMocks;
const cleanup = createCleanupStack();

// About 4 s on an idle machine; the margin is for loaded CI runners (Prism's start-up is CPU-bound).
beforeAll(async () => {
  mocks = await startMocks();
  cleanup.defer(() => mocks.stop());
}, 90_000);

afterAll(() => cleanup.run());

async function problem(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return (await response.json()) as Record<string, unknown>;
}

describe('Business Engine mock', () => {
  it('returns the success example', async () => {
    const response = await fetch(`${mocks.engineUrl}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    await expect(response.json()).resolves.toMatchObject({ ok: true, service: 'business-engine' });
  });

  it('returns the catalog entry asked for with Prefer', async () => {
    const response = await fetch(`${mocks.engineUrl}/v1/credits/balance`, {
      headers: { ...USER, Prefer: 'code=401, example=token_expired' },
    });
    expect(response.status).toBe(401);
    const body = await problem(response);
    expect(body).toEqual(catalog.problems.token_expired?.value);
    expect(body).toMatchObject({ code: 'token_expired', type: '/docs/errors.html#token_expired' });
  });

  it('returns another status with its example', async () => {
    const response = await fetch(`${mocks.engineUrl}/v1/vend-token`, {
      method: 'POST',
      headers: { ...USER, 'content-type': 'application/json', Prefer: 'code=402, example=insufficient_credits' },
      body: JSON.stringify({ clientRequestId: '7d3c2a10-5b7e-4f7e-9d1a-0c2b3a4d5e6f' }),
    });
    expect(response.status).toBe(402);
    await expect(problem(response)).resolves.toMatchObject({ code: 'insufficient_credits', status: 402 });
  });
});

describe('TTTranscribe mock', () => {
  it('returns the success example with an X-Engine-Auth header', async () => {
    const response = await fetch(`${mocks.tttUrl}/status/${JOB}`, {
      headers: { ...ENGINE_AUTH, Prefer: 'example=completed' },
    });
    expect(response.status).toBe(200);
    await expect(response.json()).resolves.toMatchObject({ ok: true, jobId: JOB, status: 'completed' });
  });

  it('rejects a request without X-Engine-Auth with 401 missing_engine_auth_header', async () => {
    const response = await fetch(`${mocks.tttUrl}/status/${JOB}`);
    expect(response.status).toBe(401);
    await expect(problem(response)).resolves.toMatchObject({ code: 'missing_engine_auth_header', status: 401 });
  });

  it('returns an engine-auth failure asked for with Prefer', async () => {
    const response = await fetch(`${mocks.tttUrl}/status/${JOB}`, {
      headers: { ...ENGINE_AUTH, Prefer: 'code=401, example=engine_auth_key_mismatch' },
    });
    expect(response.status).toBe(401);
    await expect(problem(response)).resolves.toEqual(catalog.problems.engine_auth_key_mismatch?.value);
  });
});
