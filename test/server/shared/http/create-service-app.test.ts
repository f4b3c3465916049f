import type { AddressInfo } from 'node:net';
import { request, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../../server/shared/errors/api-error.js';
import { createServiceApp, rawBody } from '../../../../server/shared/http/create-service-app.js';
import type { OpenApiDocument } from '../../../../server/shared/http/operation-matcher.js';
import { createLogger } from '../../../../server/shared/logging/logger.js';

const json = { 'application/json': { schema: { type: 'object' } } };
const spec: OpenApiDocument = {
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: {
    '/items/{itemId}': {
      get: {
        operationId: 'getItem',
        parameters: [{ name: 'itemId', in: 'path', required: true, schema: { type: 'string', pattern: '^i_[0-9]+$' } }],
        responses: {
          '200': {
            description: 'ok',
            content: {
              'application/json': {
                schema: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
              },
            },
          },
        },
      },
    },
    '/items': {
      post: {
        operationId: 'createItem',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                required: ['name'],
                properties: { name: { type: 'string', maxLength: 10 } },
              },
            },
          },
        },
        responses: { '201': { description: 'created', content: json } },
      },
    },
  },
};

const lines: string[] = [];
const destination = new Writable({
  write(chunk, _enc, done) {
    lines.push(String(chunk));
    done();
  },
});
let server: Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  const app = createServiceApp({
    spec,
    logger: createLogger({ service: 'test', level: 'info', destination }),
    validateResponses: true,
    bodyLimitBytes: 1024,
    operations: {
      getItem: {
        handler: (req, res) => {
          // i_0 answers a body that breaks the spec, to prove response validation names the field.
          res.json(req.params['itemId'] === 'i_0' ? { nope: true } : { id: req.params['itemId'] });
        },
      },
      createItem: {
        auth: (req, _res, next) => {
          seen.push('auth');
          if (req.get('authorization') !== 'Bearer good') throw new ApiError('missing_authorization');
          next();
        },
        handler: (req, res) => {
          res.status(201).json({ bytes: rawBody(req).length });
        },
      },
    },
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/**
 * The members of this app's JSON answers that the checks read: its problems (code, detail, requestId, details)
 * and its echo route (bytes). Typed as present: a check that reads a member the answer lacks fails.
 */
interface Answer {
  code: string;
  detail: string;
  requestId: string;
  bytes: number;
  details: { errors: Array<{ pointer: string; message: string }>; responseErrors: unknown };
}

async function call(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(base + path, { method, ...init });
  const text = await response.text();
  return { response, body: (text ? JSON.parse(text) : undefined) as Answer };
}
const post = (body: string, headers: Record<string, string> = {}) =>
  call('POST', '/items', {
    body,
    headers: { authorization: 'Bearer good', 'content-type': 'application/json', ...headers },
  });

describe('createServiceApp', () => {
  it('routes by operationId and echoes a well-formed X-Request-ID', async () => {
    const { response, body } = await call('GET', '/items/i_1', { headers: { 'x-request-id': 'client-req-0001' } });
    expect(response.status).toBe(200);
    expect(body).toEqual({ id: 'i_1' });
    expect(response.headers.get('x-request-id')).toBe('client-req-0001');
  });

  it('replaces a malformed X-Request-ID and repeats the id in error bodies', async () => {
    const { response, body } = await call('GET', '/nowhere', { headers: { 'x-request-id': 'bad id!' } });
    expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('answers not_found as problem+json for paths outside the spec', async () => {
    const { response, body } = await call('GET', '/nowhere');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(body).toMatchObject({
      code: 'not_found',
      ok: false,
      responsibility: 'caller',
      details: { method: 'GET', path: '/nowhere' },
    });
  });

  it('answers method_not_allowed with the Allow header', async () => {
    const { response, body } = await call('DELETE', '/items');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(body).toMatchObject({ code: 'method_not_allowed', details: { allowed: ['POST'] } });
  });

  it('runs credential checks before request validation', async () => {
    const { response, body } = await call('POST', '/items', {
      body: '{"name":5}',
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).toBe(401);
    expect(body.code).toBe('missing_authorization');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="t"');
    expect(seen).toContain('auth');
  });

  it('reports invalid bodies with JSON pointers', async () => {
    const { response, body } = await post('{"name":5,"extra":1}');
    expect(response.status).toBe(400);
    expect(body.code).toBe('invalid_request');
    const pointers = body.details.errors.map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/body/name']));
  });

  it('reports unparsable JSON as invalid_request at /body', async () => {
    const { response, body } = await post('{not json');
    expect(response.status).toBe(400);
    expect(body).toMatchObject({ code: 'invalid_request', details: { errors: [{ pointer: '/body' }] } });
  });

  it('rejects unknown query parameters and path parameters that break the pattern', async () => {
    const unknown = await call('GET', '/items/i_1?debug=1');
    expect(unknown.body.code).toBe('invalid_request');
    expect(unknown.body.details.errors[0]!.pointer).toBe('/query/debug');
    const badParam = await call('GET', '/items/zzz');
    expect(badParam.body.details.errors[0]!.pointer).toBe('/path/itemId');
  });

  it('answers a malformed percent-encoding in a path parameter with invalid_request naming it, never a 500', async () => {
    for (const raw of ['%ff%fe', 'i_%', '%', 'i_%zz', '%c3']) {
      const { response, body } = await call('GET', `/items/${raw}`);
      expect(response.status, raw).toBe(400);
      expect(body, raw).toMatchObject({
        code: 'invalid_request',
        details: { errors: [{ pointer: '/path/itemId', message: 'must be valid percent-encoded UTF-8' }] },
      });
    }
    // A well-formed encoding still decodes before validation.
    expect((await call('GET', '/items/i_%31')).body).toEqual({ id: 'i_1' });
  });

  it('refuses a JSON body that starts with a byte-order mark with invalid_request at /body, before credentials', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"abc"}')]);
    for (const headers of [{ authorization: 'Bearer good' }, {}] as Array<Record<string, string>>) {
      const response = await fetch(`${base}/items`, {
        method: 'POST',
        body: bom,
        headers: { ...headers, 'content-type': 'application/json' },
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        code: 'invalid_request',
        details: { errors: [{ pointer: '/body', message: 'must not start with a byte-order mark (U+FEFF)' }] },
      });
    }
  });

  it('answers payload_too_large and unsupported_media_type', async () => {
    const big = await post(JSON.stringify({ name: 'x'.repeat(2000) }));
    expect(big.response.status).toBe(413);
    expect(big.body).toMatchObject({ code: 'payload_too_large', details: { limitBytes: 1024 } });
    const text = await post('name=x', { 'content-type': 'text/plain' });
    expect(text.response.status).toBe(415);
    expect(text.body.code).toBe('unsupported_media_type');
  });

  it('says which content type it received, and that a missing body is required', async () => {
    const text = await post('name=x', { 'content-type': 'text/plain' });
    expect(text.body).toMatchObject({ code: 'unsupported_media_type', details: { received: 'text/plain' } });
    const missing = await fetch(`${base}/items`, { method: 'POST', headers: { authorization: 'Bearer good' } });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      code: 'invalid_request',
      details: { errors: [{ pointer: '/body', message: expect.stringContaining('required') }] },
    });
  });

  it('reports every problem of a body at its own pointer, missing and extra properties included', async () => {
    const { body } = await post('{"extra":1}');
    const errors = body.details.errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        { pointer: '/body/name', message: "must have required property 'name'" },
        { pointer: '/body/extra', message: 'must NOT have additional properties' },
      ]),
    );
    expect(body.detail).toMatch(/\(and 1 more\)\.$/);
  });

  it('keeps the raw body bytes for signature checks', async () => {
    const raw = '{ "name" : "abc" }';
    const { response, body } = await post(raw);
    expect(response.status).toBe(201);
    expect(body.bytes).toBe(Buffer.byteLength(raw));
  });

  it('turns a response that breaks the spec into internal_error naming the field', async () => {
    const { response, body } = await call('GET', '/items/i_0');
    expect(response.status).toBe(500);
    expect(body.code).toBe('internal_error');
    expect(JSON.stringify(body.details.responseErrors)).toContain('id');
  });

  it('logs one line per request without credentials', async () => {
    await post('{"name":"log"}', { authorization: 'Bearer good' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const requestLines = lines.filter((l) => l.includes('"msg":"request"'));
    expect(requestLines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain('Bearer good');
  });

  it('neither reads nor refuses a body sent to an operation that takes none', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${base}/items/i_1`,
        { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '9' } },
        (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (chunk: string) => (body += chunk))
            .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end('{not json');
    });
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ id: 'i_1' }) });
  });

  it('runs `before` once the request id is set, and tells every `onResponse` observer once, after the access line', async () => {
    const events: string[] = [];
    const own: string[] = [];
    const app = createServiceApp({
      spec,
      logger: createLogger({
        service: 'test',
        level: 'info',
        destination: new Writable({
          write(chunk, _e, done) {
            own.push(String(chunk));
            events.push('access line');
            done();
          },
        }),
      }),
      before: [
        (_req, res, next) => {
          events.push(`before ${String(res.locals['requestId'])}`);
          next();
        },
      ],
      onResponse: [(_req, res) => events.push(`observer ${res.statusCode} ${String(res.locals['operationId'])}`)],
      operations: {
        getItem: { handler: (req, res) => res.json({ id: req.params['itemId'] }) },
        createItem: { handler: (_req, res) => res.status(201).json({}) },
      },
    });
    const ownServer = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => ownServer.once('listening', resolve));
    try {
      const port = (ownServer.address() as AddressInfo).port;
      const response = await fetch(`http://127.0.0.1:${port}/items/i_7`, {
        headers: { 'x-request-id': 'req-observed-01', 'user-agent': 'probe/1' },
      });
      expect(response.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(events).toEqual(['before req-observed-01', 'access line', 'observer 200 getItem']);
      expect(JSON.parse(own[0] as string)).toMatchObject({
        msg: 'request',
        requestId: 'req-observed-01',
        method: 'GET',
        route: 'getItem',
        path: '/items/i_7',
        status: 200,
        code: null,
        durationMs: expect.any(Number),
        userAgent: 'probe/1',
      });
    } finally {
      await new Promise<void>((resolve) => ownServer.close(() => resolve()));
    }
  });

  it('refuses to build when an operation has no implementation or an unknown one', () => {
    const logger = createLogger({ service: 't', level: 'silent' });
    expect(() => createServiceApp({ spec, logger, operations: { getItem: { handler: () => {} } } })).toThrow(
      /createItem/,
    );
    expect(() =>
      createServiceApp({
        spec,
        logger,
        operations: { getItem: { handler: () => {} }, createItem: { handler: () => {} }, extra: { handler: () => {} } },
      }),
    ).toThrow(/extra/);
  });
});
