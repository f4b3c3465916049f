import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTttranscribeClient } from '../../../../generated/tttranscribe/client.js';
import { PlainRequest, PlainResponse } from '../../../../server/business-engine/upstream/plain-exchange.js';

// PlainRequest/PlainResponse stand in for WHATWG Request/Response inside openapi-fetch, which is typed for the
// real classes (hence the cast in ttt-client.ts). These tests pin what openapi-fetch does with them: which
// constructor arguments it passes, what it hands to fetch, and which members of the answer it reads. They run
// against the exact version package.json pins; a version change has to pass them before it lands.
const BASE = 'http://127.0.0.1:9';
const root = new URL('../../../../', import.meta.url);
const json = (status: number, body: unknown, extra: Record<string, string> = {}) => {
  const bytes = Buffer.from(JSON.stringify(body));
  return new PlainResponse(
    status,
    { 'content-type': 'application/json', 'content-length': String(bytes.length), ...extra },
    bytes,
  );
};

function clientAnswering(answer: (request: PlainRequest) => PlainResponse) {
  const seen: PlainRequest[] = [];
  const fetch = async (request: Request): Promise<Response> => {
    const plain = request as unknown as PlainRequest;
    seen.push(plain);
    return answer(plain) as unknown as Response;
  };
  const client = createTttranscribeClient({ baseUrl: BASE, fetch, Request: PlainRequest as unknown as typeof Request });
  return { client, seen };
}

describe('openapi-fetch with PlainRequest / PlainResponse', () => {
  it('is the exact openapi-fetch version package.json pins', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const installed = JSON.parse(readFileSync(new URL('node_modules/openapi-fetch/package.json', root), 'utf8')) as {
      version: string;
    };
    expect(pkg.dependencies['openapi-fetch']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed.version).toBe(pkg.dependencies['openapi-fetch']);
  });

  it('builds a PlainRequest with the final URL, method, headers and the JSON body as a string, and passes it to fetch', async () => {
    const { client, seen } = clientAnswering(() =>
      json(202, { ok: true, jobId: 'job_0123456789', status: 'queued', submittedAt: '2026-01-01T00:00:00Z' }),
    );
    const controller = new AbortController();
    const body = { url: 'https://media.example.com/clip.mp4', language: 'en' };
    const { data, error, response } = await client.POST('/transcribe', {
      body,
      headers: { authorization: 'Bearer t' },
      signal: controller.signal,
    });
    expect(error).toBeUndefined();
    expect(data).toMatchObject({ jobId: 'job_0123456789' });
    expect(response).toBeInstanceOf(PlainResponse);
    const [request] = seen;
    expect(request).toBeInstanceOf(PlainRequest);
    expect(request?.url).toBe(`${BASE}/transcribe`);
    expect(request?.method).toBe('POST');
    expect(request?.headers.get('content-type')).toBe('application/json');
    expect(request?.headers.get('authorization')).toBe('Bearer t');
    expect(request?.body).toBe(JSON.stringify(body));
    expect(request?.bodyBytes()?.toString('utf8')).toBe(JSON.stringify(body));
    expect(request?.signal).toBe(controller.signal);
  });

  it('sends a GET with path parameters encoded and no body', async () => {
    const { client, seen } = clientAnswering(() => json(200, { ok: true }));
    await client.GET('/status/{jobId}', { params: { path: { jobId: 'job_a/b' } } });
    expect(seen[0]?.url).toBe(`${BASE}/status/job_a%2Fb`);
    expect(seen[0]?.method).toBe('GET');
    expect(seen[0]?.body).toBeNull();
    expect(seen[0]?.bodyBytes()).toBeUndefined();
  });

  it('reads a JSON answer without Content-Length through text()', async () => {
    const { client } = clientAnswering(
      () => new PlainResponse(200, { 'content-type': 'application/json' }, Buffer.from('{"status":"ok"}')),
    );
    const { data } = await client.GET('/health');
    expect(data).toEqual({ status: 'ok' });
  });

  it('gives an error answer as parsed problem JSON, and a non-JSON one as text', async () => {
    const problem = { code: 'invalid_token', status: 401 };
    const asJson = clientAnswering(() => json(401, problem));
    const first = await asJson.client.GET('/health');
    expect(first.data).toBeUndefined();
    expect(first.error).toEqual(problem);
    expect(first.response.status).toBe(401);
    const asText = clientAnswering(
      () => new PlainResponse(502, { 'content-type': 'text/plain' }, Buffer.from('bad gateway')),
    );
    expect((await asText.client.GET('/health')).error).toBe('bad gateway');
  });

  it('treats an empty answer (Content-Length 0) as no data', async () => {
    const { client } = clientAnswering(() => new PlainResponse(200, { 'content-length': '0' }, Buffer.alloc(0)));
    const { data, error } = await client.GET('/health');
    expect(data).toBeUndefined();
    expect(error).toBeUndefined();
  });

  it('PlainRequest refuses a body it cannot sign byte for byte', () => {
    expect(() => new PlainRequest(`${BASE}/x`, { method: 'POST', body: new Blob(['x']) })).toThrow(TypeError);
  });
});
