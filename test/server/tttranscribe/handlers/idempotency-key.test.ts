import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTttTestApp, T0_MS, type TttTestApp } from '../../../helpers/ttt-app.js';

const URL_OK = 'https://media.example.com/clip.mp4';
let ttt: TttTestApp;
let keySeq = 0;
const newKey = () => `sub_idem_test_${String(++keySeq).padStart(6, '0')}`;

beforeAll(async () => {
  ttt = await startTttTestApp();
});
afterAll(async () => {
  await ttt.close();
});

async function submit(token: string, key?: string, url = URL_OK) {
  return ttt.client.POST('/transcribe', {
    body: { url },
    headers: { Authorization: `Bearer ${token}`, ...(key ? { 'Idempotency-Key': key } : {}) },
  });
}
const byKey = (key: string) => ttt.client.GET('/jobs/by-idempotency-key/{key}', { params: { path: { key } } });
const jobCount = () => ttt.db.prepare('SELECT COUNT(*) FROM jobs').pluck().get() as number;

describe('POST /transcribe with an Idempotency-Key', () => {
  it('the same key and token again answers 202 with the same job, Idempotent-Replayed, and creates nothing', async () => {
    const token = await ttt.issuer.mint();
    const key = newKey();
    const first = await submit(token, key);
    expect(first.response.status).toBe(202);
    expect(first.response.headers.get('idempotent-replayed')).toBeNull();
    const before = jobCount();
    const again = await submit(token, key);
    expect(again.response.status).toBe(202);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.data).toEqual(first.data);
    expect(again.response.headers.get('location')).toBe(`/status/${first.data?.jobId}`);
    expect(jobCount()).toBe(before);
  });

  it('a replay after the job completed still names the same job', async () => {
    const token = await ttt.issuer.mint();
    const key = newKey();
    const first = await submit(token, key);
    await ttt.service.worker.drain();
    const again = await submit(token, key);
    expect(again.response.status).toBe(202);
    expect(again.data?.jobId).toBe(first.data?.jobId);
    expect((await byKey(key)).data).toMatchObject({ jobId: first.data?.jobId, status: 'completed' });
  });

  it('the key with another service token -> idempotency_key_reused, and no job', async () => {
    const key = newKey();
    const first = await submit(await ttt.issuer.mint(), key);
    const before = jobCount();
    const other = await submit(await ttt.issuer.mint(), key);
    expect(other.response.status).toBe(422);
    expect(other.error).toMatchObject({ code: 'idempotency_key_reused', details: { clientRequestId: key } });
    expect(JSON.stringify(other.error)).not.toContain(String(first.data?.jobId));
    expect(jobCount()).toBe(before);
  });

  it('the token with another key is still service_token_already_used naming its job', async () => {
    const token = await ttt.issuer.mint();
    const first = await submit(token, newKey());
    const second = await submit(token, newKey());
    expect(second.response.status).toBe(409);
    expect(second.error).toMatchObject({ code: 'service_token_already_used', details: { jobId: first.data?.jobId } });
  });

  it('concurrent submissions with one key and token create exactly one job, every answer naming it', async () => {
    const token = await ttt.issuer.mint();
    const key = newKey();
    const before = jobCount();
    const results = await Promise.all(Array.from({ length: 6 }, () => submit(token, key)));
    expect(results.map((r) => r.response.status)).toEqual(Array(6).fill(202));
    expect(new Set(results.map((r) => r.data?.jobId)).size).toBe(1);
    expect(results.filter((r) => r.response.headers.get('idempotent-replayed') === 'true')).toHaveLength(5);
    expect(jobCount()).toBe(before + 1);
  });

  it.each(['short', 'has space in it 0123456789', 'x'.repeat(65)])(
    'a malformed key %j -> 400 invalid_request at the header',
    async (key) => {
      const { error, response } = await submit(await ttt.issuer.mint(), key);
      expect(response.status).toBe(400);
      expect(error).toMatchObject({ code: 'invalid_request' });
      expect((error?.details['errors'] as Array<{ pointer: string }>).map((e) => e.pointer)).toContain(
        '/headers/idempotency-key',
      );
    },
  );
});

describe('GET /jobs/by-idempotency-key/{key}', () => {
  it('answers the JobStatus of the job stored under the key', async () => {
    ttt.clock.ms = T0_MS;
    const key = newKey();
    const { data } = await submit(await ttt.issuer.mint(), key);
    const found = await byKey(key);
    expect(found.response.status).toBe(200);
    const status = await ttt.client.GET('/status/{jobId}', { params: { path: { jobId: String(data?.jobId) } } });
    expect(found.data).toEqual(status.data);
  });

  it('a key no job was stored under -> 404 job_not_found', async () => {
    const key = newKey();
    const { error, response } = await byKey(key);
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ code: 'job_not_found', details: { idempotencyKey: key } });
  });

  it('needs X-Engine-Auth', async () => {
    const { error, response } = await ttt
      .clientWith({ keys: null })
      .GET('/jobs/by-idempotency-key/{key}', { params: { path: { key: newKey() } } });
    expect(response.status).toBe(401);
    expect(error?.code).toBe('missing_engine_auth_header');
  });
});
