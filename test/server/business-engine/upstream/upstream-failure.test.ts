import { describe, expect, it } from 'vitest';
import {
  failureFromResponse,
  UpstreamFailure,
  type StoreVerdict,
} from '../../../../server/business-engine/upstream/upstream-failure.js';

const answered = (status: number, code?: string) =>
  failureFromResponse(new Response(null, { status }), code === undefined ? undefined : { code, detail: 'x' });

describe('UpstreamFailure.storeVerdict: whether a failed POST /transcribe may have stored the job', () => {
  const cases: Array<[string, UpstreamFailure, StoreVerdict]> = [
    ['circuit open (nothing sent)', new UpstreamFailure('unavailable', { reason: 'circuit_open' }), 'not_stored'],
    ['connection refused', new UpstreamFailure('unavailable', { reason: 'connection_refused' }), 'not_stored'],
    ['host unreachable', new UpstreamFailure('unavailable', { reason: 'unreachable' }), 'not_stored'],
    ['its 401', answered(401, 'engine_auth_key_mismatch'), 'not_stored'],
    ['its 403', answered(403, 'insufficient_scope'), 'not_stored'],
    ['its 422 unsupported_url', answered(422, 'unsupported_url'), 'not_stored'],
    ['its 429', answered(429, 'rate_limited'), 'not_stored'],
    ['its 500 problem', answered(500, 'internal_error'), 'answered'],
    ['its 503 problem', answered(503, 'service_unavailable'), 'answered'],
    [
      'an unreadable 202',
      new UpstreamFailure('server_error', { upstreamStatus: 202, reason: 'unparsable' }),
      'answered',
    ],
    ['a 502 page without its problem body (a proxy)', answered(502), 'unknown'],
    ['a timeout', new UpstreamFailure('timeout', { timeoutMs: 300 }), 'unknown'],
    ['a reset after sending', new UpstreamFailure('server_error', { reason: 'network_error' }), 'unknown'],
  ];
  it.each(cases)('%s', (_name, failure, verdict) => {
    expect(failure.storeVerdict).toBe(verdict);
  });

  it('a pending submission says so in details and detail, with creditRefunded false', () => {
    const error = new UpstreamFailure('timeout', { timeoutMs: 300 }).toApiError({
      creditRefunded: false,
      pending: { settlesWithinSec: 180 },
    });
    expect(error.code).toBe('upstream_timeout');
    expect(error.status).toBe(504);
    expect(error.details).toEqual({
      upstream: 'tttranscribe',
      timeoutMs: 300,
      creditRefunded: false,
      submissionPending: true,
      settlesWithinSec: 180,
    });
    expect(error.detail).toMatch(/pending.*same service token.*within 180 s/);
  });
});
