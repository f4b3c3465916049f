import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../server/shared/http/operation-matcher.js';
import { createResponseChecker, type ObservedResponse } from './support/response-checker.js';

const spec = JSON.parse(readFileSync('generated/business-engine/openapi.json', 'utf8')) as OpenApiDocument;
const check = createResponseChecker(spec);
const problem = (code: string, status: number, extra: Record<string, unknown> = {}) => ({
  type: `/docs/errors.html#${code}`, title: 't', status, detail: 'd', ok: false, code, requestId: 'req_1',
  retryable: false, responsibility: 'caller', guidance: 'g', details: {}, ...extra,
});
function response(method: string, path: string, status: number, body: unknown, type = 'application/json; charset=utf-8', headers: Record<string, string> = {}): ObservedResponse {
  return { method, path, status, headers: new Headers({ 'content-type': type, 'x-request-id': 'req_0123456789', ...headers }), body: body === undefined ? '' : JSON.stringify(body) };
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
    const violations = check(response('GET', '/ttt/status/job_12345678', 200, {
      ok: true, jobId: 'job_12345678', status: 'done', stage: 'done', progress: 1, submittedAt: 'yesterday', updatedAt: '2026-11-23T10:00:00.000Z',
    }));
    expect(violations.map((v) => v.pointer)).toEqual(expect.arrayContaining(['/body/status', '/body/submittedAt', '/body/creditRefunded']));
    expect(violations.every((v) => v.operationId === 'getTranscriptionStatus')).toBe(true);
  });

  it('rejects an undeclared status and a wrong media type', () => {
    expect(check(response('GET', '/v1/credits/balance', 418, balance))[0]).toMatchObject({ pointer: '/status', message: expect.stringContaining('418 is not declared') });
    expect(check(response('GET', '/v1/credits/balance', 401, problem('invalid_token', 401), 'application/json'))[0]).toMatchObject({ pointer: '/headers/content-type' });
  });

  it('checks a problem against the catalog: known code, catalog status, listed for this response', () => {
    const pj = 'application/problem+json; charset=utf-8';
    expect(check(response('POST', '/v1/vend-token', 402, problem('insufficient_credits', 402), pj))).toEqual([]);
    expect(check(response('POST', '/v1/vend-token', 401, problem('upstream_auth_failure', 401), pj)).map((v) => v.message)).toEqual([
      'upstream_auth_failure is a 502 in the catalog, answered with 401',
      expect.stringContaining('upstream_auth_failure is not listed for this response'),
    ]);
    expect(check(response('POST', '/v1/vend-token', 402, problem('made_up', 402), pj))[0]).toMatchObject({ pointer: '/body/code' });
  });

  it('checks declared headers and answers for paths outside the spec', () => {
    expect(check(response('GET', '/health', 200, { ok: true, service: 'business-engine', build: { version: '1', node: 'v20' }, uptimeSec: 1, serverTime: '2026-11-23T10:00:00.000Z' }, 'application/json', { 'x-request-id': 'bad id' }))[0])
      .toMatchObject({ operationId: 'getHealth', pointer: '/headers/x-request-id' });
    expect(check(response('GET', '/nowhere', 404, problem('not_found', 404), 'application/problem+json'))).toEqual([]);
    expect(check(response('GET', '/nowhere', 404, problem('invalid_request', 400), 'application/problem+json'))[0]).toMatchObject({ operationId: '(no operation)', pointer: '/body/code' });
  });
});
