import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTttTestApp, T0_MS, type TttTestApp } from '../../../helpers/ttt-app.js';

const URL_OK = 'https://media.example.com/clip.mp4';
let ttt: TttTestApp;

beforeAll(async () => {
  ttt = await startTttTestApp({ config: { allowedMediaHosts: ['media.example.com', '*.cdn.example.org'] } });
});
afterAll(async () => {
  await ttt.close();
});

async function submit(body: unknown, token?: string, extra: { contentType?: string; raw?: boolean } = {}) {
  return ttt.client.POST('/transcribe', {
    body: body as never,
    headers: {
      Authorization: `Bearer ${token ?? (await ttt.issuer.mint())}`,
      ...(extra.contentType ? { 'Content-Type': extra.contentType } : {}),
    },
    ...(extra.raw ? { bodySerializer: (b: unknown) => b as string } : {}),
  });
}

const jobCount = () => ttt.db.prepare('SELECT COUNT(*) FROM jobs').pluck().get() as number;

describe('POST /transcribe', () => {
  it('stores a queued job and answers 202 at once with its id and Location', async () => {
    const { data, response } = await submit({ url: URL_OK, language: 'en-US' });
    expect(response.status).toBe(202);
    expect(data).toEqual({
      ok: true,
      jobId: expect.stringMatching(/^job_[0-9A-Z]{26}$/),
      status: 'queued',
      submittedAt: new Date(T0_MS).toISOString(),
    });
    expect(response.headers.get('location')).toBe(`/status/${data?.jobId}`);
    expect(await ttt.service.store.get(String(data?.jobId))).toMatchObject({
      status: 'queued',
      stage: 'queued',
      url: URL_OK,
      language: 'en-US',
    });
  });

  it.each([
    ['url not a string', { url: 42 }, '/body/url'],
    ['url missing', { language: 'en' }, '/body/url'],
    ['an unknown member', { url: URL_OK, priority: 'high' }, '/body/priority'],
    ['a bad language tag', { url: URL_OK, language: 'english' }, '/body/language'],
    ['an empty url', { url: '' }, '/body/url'],
  ])('%s -> 400 invalid_request with a JSON pointer', async (_name, body, pointer) => {
    const { error, response } = await submit(body);
    expect(response.status).toBe(400);
    expect(error?.code).toBe('invalid_request');
    const errors = error?.details['errors'] as Array<{ pointer: string; message: string }>;
    expect(errors.map((e) => e.pointer)).toContain(pointer);
  });

  it('invalid JSON -> 400 invalid_request at /body, never an HTML page', async () => {
    const { error, response } = await submit('{"url":', undefined, { raw: true });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(error).toMatchObject({ code: 'invalid_request', details: { errors: [{ pointer: '/body' }] } });
  });

  it.each([
    ['ftp://media.example.com/clip.mp4', 'scheme_not_allowed'],
    ['file:///etc/passwd', 'scheme_not_allowed'],
    ['https://user:pw@media.example.com/clip.mp4', 'malformed'],
    ['https://evil.example.net/clip.mp4', 'host_not_allowed'],
    ['https://cdn.example.org/clip.mp4', 'host_not_allowed'],
  ])('%s -> 422 unsupported_url (%s)', async (url, reason) => {
    const { error, response } = await submit({ url });
    expect(response.status).toBe(422);
    expect(error).toMatchObject({ code: 'unsupported_url', responsibility: 'caller', details: { reason } });
    expect(JSON.stringify(error)).not.toContain(':pw@');
  });

  // The spec gives url `format: uri` and maxLength 2048: what is not an absolute URI (raw spaces, raw non-ASCII
  // characters: percent-encode them) is refused by the schema check, naming the field.
  it.each([
    ['not a url'],
    [`https://media.example.com/${'é'.repeat(1000)}`],
    [`https://media.example.com/${'a'.repeat(2048)}`],
  ])('%s -> 400 invalid_request naming /body/url', async (url) => {
    const { error, response } = await submit({ url });
    expect(response.status).toBe(400);
    expect(error).toMatchObject({
      code: 'invalid_request',
      details: { errors: [expect.objectContaining({ pointer: '/body/url' })] },
    });
  });

  it('an allowed subdomain wildcard and an exact host pass', async () => {
    expect((await submit({ url: 'https://eu.cdn.example.org/a.mp3' })).response.status).toBe(202);
    expect((await submit({ url: 'http://MEDIA.example.com./a.mp3' })).response.status).toBe(202);
  });

  it('a rejected URL does not spend the token', async () => {
    const token = await ttt.issuer.mint();
    expect((await submit({ url: 'ftp://media.example.com/a' }, token)).response.status).toBe(422);
    expect((await submit({ url: URL_OK }, token)).response.status).toBe(202);
  });

  it('the same token twice -> 409 service_token_already_used naming the first job, and no second job', async () => {
    const token = await ttt.issuer.mint();
    const first = await submit({ url: URL_OK }, token);
    const before = jobCount();
    const second = await submit({ url: 'https://media.example.com/other.mp4' }, token);
    expect(second.response.status).toBe(409);
    expect(second.error).toMatchObject({ code: 'service_token_already_used', details: { jobId: first.data?.jobId } });
    expect(jobCount()).toBe(before);
  });

  it('concurrent submissions with one token create exactly one job', async () => {
    const token = await ttt.issuer.mint({ jti: 'jti-concurrent-1' });
    const results = await Promise.all(Array.from({ length: 6 }, () => submit({ url: URL_OK }, token)));
    const accepted = results.filter((r) => r.response.status === 202);
    expect(accepted).toHaveLength(1);
    const jobId = accepted[0]?.data?.jobId;
    for (const r of results.filter((x) => x.response.status !== 202)) {
      expect(r.error).toMatchObject({ code: 'service_token_already_used', details: { jobId } });
    }
    expect(ttt.db.prepare('SELECT COUNT(*) FROM jobs WHERE token_jti = ?').pluck().get('jti-concurrent-1')).toBe(1);
  });

  it('a body over 64 KiB -> 413 payload_too_large with the limit', async () => {
    const { error, response } = await submit({ url: `https://media.example.com/${'a'.repeat(70_000)}` });
    expect(response.status).toBe(413);
    expect(error).toMatchObject({ code: 'payload_too_large', details: { limitBytes: 65536 } });
  });

  it('a non-JSON body (signed over its real bytes) -> 415 unsupported_media_type, not a signature mismatch', async () => {
    const { error, response } = await submit('url=https://media.example.com/clip.mp4', undefined, {
      contentType: 'text/plain',
      raw: true,
    });
    expect(response.status).toBe(415);
    expect(error?.code).toBe('unsupported_media_type');
  });
});

describe('routes outside the spec', () => {
  it('an unknown path -> 404 not_found with method and path', async () => {
    const response = await fetch(`${ttt.baseUrl}/v1/transcribe`, { method: 'POST' });
    const body = (await response.json()) as { code: string; details: unknown; requestId: string };
    expect(response.status).toBe(404);
    expect(body).toMatchObject({ code: 'not_found', details: { method: 'POST', path: '/v1/transcribe' } });
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('a wrong method -> 405 method_not_allowed with Allow', async () => {
    const response = await fetch(`${ttt.baseUrl}/transcribe`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toMatchObject({ code: 'method_not_allowed', details: { allowed: ['POST'] } });
  });
});
