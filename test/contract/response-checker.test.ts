import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../server/shared/http/operation-matcher.js';
import { parsePrometheusText } from './support/prometheus-text.js';
import { createResponseChecker, type ObservedResponse } from './support/response-checker.js';

const spec = JSON.parse(readFileSync('generated/business-engine/openapi.json', 'utf8')) as OpenApiDocument;
const check = createResponseChecker(spec);
const problem = (code: string, status: number, extra: Record<string, unknown> = {}) => ({
  type: `/docs/errors.html#${code}`,
  title: 't',
  status,
  detail: 'd',
  ok: false,
  code,
  requestId: 'req_1',
  retryable: false,
  responsibility: 'caller',
  guidance: 'g',
  details: {},
  ...extra,
});
function response(
  method: string,
  path: string,
  status: number,
  body: unknown,
  type = 'application/json; charset=utf-8',
  headers: Record<string, string> = {},
): ObservedResponse {
  return {
    method,
    path,
    status,
    headers: new Headers({ 'content-type': type, 'x-request-id': 'req_0123456789', ...headers }),
    body: body === undefined ? '' : JSON.stringify(body),
  };
}
const balance = { ok: true, userId: 'u1', balance: 3, main: 0, bonus: 3, updatedAt: '2026-11-23T10:00:00.000Z' };

describe('response checker', () => {
  it('accepts a response that matches the spec', () => {
    expect(check(response('GET', '/v1/credits/balance', 200, balance))).toEqual([]);
  });

  it('names the operation and the JSON pointer of a missing or mistyped field', () => {
    const { main: _omitted, ...withoutMain } = balance;
    expect(check(response('GET', '/v1/credits/balance', 200, { ...withoutMain, balance: '3' }))).toEqual([
      { operationId: 'getCreditBalance', pointer: '/body/main', message: 'is required' },
      { operationId: 'getCreditBalance', pointer: '/body/balance', message: 'must be integer' },
    ]);
  });

  it('checks nested schemas through $ref and allOf, and formats', () => {
    const violations = check(
      response('GET', '/ttt/status/job_12345678', 200, {
        ok: true,
        jobId: 'job_12345678',
        status: 'done',
        stage: 'done',
        progress: 1,
        submittedAt: 'yesterday',
        updatedAt: '2026-11-23T10:00:00.000Z',
      }),
    );
    expect(violations.map((v) => v.pointer)).toEqual(
      expect.arrayContaining(['/body/status', '/body/submittedAt', '/body/creditRefunded']),
    );
    expect(violations.every((v) => v.operationId === 'getTranscriptionStatus')).toBe(true);
  });

  it('rejects an undeclared status and a wrong media type', () => {
    expect(check(response('GET', '/v1/credits/balance', 418, balance))[0]).toMatchObject({
      pointer: '/status',
      message: expect.stringContaining('418 is not declared'),
    });
    expect(
      check(
        response('GET', '/v1/credits/balance', 401, problem('invalid_token', 401), 'application/json', {
          'www-authenticate': 'Bearer realm="Business Engine"',
        }),
      )[0],
    ).toMatchObject({ pointer: '/headers/content-type' });
  });

  it('checks a problem against the catalog: known code, catalog status, listed for this response', () => {
    const pj = 'application/problem+json; charset=utf-8';
    expect(check(response('POST', '/v1/vend-token', 402, problem('insufficient_credits', 402), pj))).toEqual([]);
    expect(
      check(
        response('POST', '/v1/vend-token', 401, problem('upstream_auth_failure', 401), pj, {
          'www-authenticate': 'Bearer realm="Business Engine"',
        }),
      ).map((v) => v.message),
    ).toEqual([
      'upstream_auth_failure is a 502 in the catalog, answered with 401',
      expect.stringContaining('upstream_auth_failure is not listed for this response'),
    ]);
    expect(check(response('POST', '/v1/vend-token', 402, problem('made_up', 402), pj))[0]).toMatchObject({
      pointer: '/body/code',
    });
  });

  it('requires WWW-Authenticate on a 401 and Allow on a 405, and takes a 431 on any path', () => {
    const pj = 'application/problem+json; charset=utf-8';
    expect(check(response('GET', '/v1/credits/balance', 401, problem('missing_authorization', 401), pj))).toEqual([
      { operationId: 'getCreditBalance', pointer: '/headers/www-authenticate', message: 'is required' },
    ]);
    expect(
      check(
        response('GET', '/v1/credits/balance', 401, problem('missing_authorization', 401), pj, {
          'www-authenticate': 'Basic',
        }),
      )[0],
    ).toMatchObject({ pointer: '/headers/www-authenticate' });
    expect(check(response('GET', '/v1/credits/balance', 431, problem('request_header_too_large', 431), pj))).toEqual(
      [],
    );
    expect(check(response('DELETE', '/v1/vend-token', 405, problem('method_not_allowed', 405), pj))).toEqual([
      { operationId: '(no operation)', pointer: '/headers/allow', message: 'is required' },
    ]);
    expect(
      check(response('DELETE', '/v1/vend-token', 405, problem('method_not_allowed', 405), pj, { allow: 'POST' })),
    ).toEqual([]);
  });

  it('checks declared headers and answers for paths outside the spec', () => {
    expect(
      check(
        response(
          'GET',
          '/health',
          200,
          {
            ok: true,
            service: 'business-engine',
            build: { version: '1', node: 'v20' },
            uptimeSec: 1,
            serverTime: '2026-11-23T10:00:00.000Z',
          },
          'application/json',
          { 'x-request-id': 'bad id' },
        ),
      )[0],
    ).toMatchObject({ operationId: 'getHealth', pointer: '/headers/x-request-id' });
    expect(check(response('GET', '/nowhere', 404, problem('not_found', 404), 'application/problem+json'))).toEqual([]);
    expect(
      check(response('GET', '/nowhere', 404, problem('invalid_request', 400), 'application/problem+json'))[0],
    ).toMatchObject({ operationId: '(no operation)', pointer: '/body/code' });
  });
});

describe('response checker on text/plain metrics', () => {
  const prometheus = 'text/plain; version=0.0.4; charset=utf-8';
  const metrics = (body: string, type = prometheus): ObservedResponse => ({
    method: 'GET',
    path: '/metrics',
    status: 200,
    headers: new Headers({ 'content-type': type, 'x-request-id': 'req_0123456789' }),
    body,
  });
  const valid = [
    '# HELP http_requests_total Requests answered.',
    '# TYPE http_requests_total counter',
    'http_requests_total{route="getHealth",method="GET",status="200",service="business-engine"} 42',
    '# TYPE upstream_request_duration_seconds histogram',
    'upstream_request_duration_seconds_bucket{le="0.1",detail="a \\"quoted\\" \\\\ value\\n"} 1',
    'upstream_request_duration_seconds_bucket{le="+Inf"} 2',
    'upstream_request_duration_seconds_sum 0.35',
    'upstream_request_duration_seconds_count 2',
    'process_start_time_seconds 1.7e9 1700000000000',
    // Values are read as Go's ParseFloat reads them: prom-client writes NaN as `Nan`.
    'nodejs_eventloop_lag_mean_seconds Nan',
    'temperature_min -inf',
    '',
  ].join('\n');

  it('accepts Prometheus text format 0.0.4 under the declared media type, charset added', () => {
    expect(check(metrics(valid))).toEqual([]);
    expect(parsePrometheusText(valid).samples[1]).toMatchObject({
      name: 'upstream_request_duration_seconds_bucket',
      labels: { le: '0.1', detail: 'a "quoted" \\ value\n' },
      value: 1,
    });
  });

  it('rejects another media type, or text/plain without the declared version', () => {
    expect(check(metrics(valid, 'text/plain; charset=utf-8'))[0]).toMatchObject({
      operationId: 'getMetrics',
      pointer: '/headers/content-type',
    });
    expect(check(metrics(valid, 'application/json'))[0]).toMatchObject({ pointer: '/body' });
  });

  it.each([
    ['a line that is no sample', 'http_requests_total{route="x"}\n', /expected " value/],
    ['a value that is no number', 'up one\n', /bad value one/],
    ['an unterminated label value', 'up{a="x} 1\n', /unterminated/],
    ['a bad escape', 'up{a="\\t"} 1\n', /bad escape/],
    ['a series twice', 'up{a="1"} 1\nup{a="1"} 2\n', /repeated/],
    ['a TYPE after the samples', 'up 1\n# TYPE up gauge\n', /after its samples/],
    ['an unknown type', '# TYPE up meter\nup 1\n', /unknown type/],
    ['a family split in two groups', 'a 1\nb 1\na{x="1"} 1\n', /not in one group/],
    ['a bucket without le', '# TYPE h histogram\nh_bucket 1\n', /le label/],
    ['no final line feed', 'up 1', /line feed/],
    ['an empty body', '', /empty/],
  ])('rejects %s, naming the line', (_name, body, message) => {
    const violations = check(metrics(body));
    expect(violations.length).toBeGreaterThan(0);
    expect(violations[0]).toMatchObject({
      operationId: 'getMetrics',
      pointer: '/body',
      message: expect.stringMatching(message),
    });
  });
});
