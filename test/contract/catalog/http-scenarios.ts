/**
 * Catalog reachability, HTTP codes: for EVERY code of generated/errors.ts, at least one scenario that makes a
 * real service answer it. `satisfies Record<ErrorCode, …>` makes TypeScript reject this table when a code has
 * no entry (or an entry names a code the catalog lacks); catalog-reachability.test.ts checks the same at run time.
 *
 * To cover a new code: write a producer (engine-producers.ts or ttt-producers.ts, or a new world fixture in
 * catalog-world.ts when no running service can produce it yet) and add `code: [scenario(...)]` here. Narrow
 * `detailKeys` only when a documented key cannot apply, and say why.
 */
import type { ErrorCode } from '../../../generated/errors.js';
import type { Observed, ProblemExpectation, Service } from './catalog-problem.js';
import type { CatalogWorld } from './catalog-world.js';
import { engine } from './engine-producers.js';
import { ttt } from './ttt-producers.js';

/** One way of making a real service answer a code. */
export interface Scenario {
  readonly service: Service;
  /** What the scenario does, in a phrase (part of the test's name). */
  readonly how: string;
  readonly produce: (world: CatalogWorld) => Promise<Observed>;
  readonly expect: ProblemExpectation;
}

/** At least one scenario per code. */
export type Scenarios = readonly [Scenario, ...Scenario[]];

const be = (how: string, produce: Scenario['produce'], expect: ProblemExpectation = {}): Scenario => ({
  service: 'business-engine',
  how,
  produce,
  expect,
});
const tt = (how: string, produce: Scenario['produce'], expect: ProblemExpectation = {}): Scenario => ({
  service: 'tttranscribe',
  how,
  produce,
  expect,
});

export const scenarios = {
  missing_authorization: [
    be('GET /v1/credits/balance without Authorization', engine.noAuthorization, { details: { expected: 'user_jwt' } }),
    tt('a signed POST /transcribe without Authorization', ttt.noAuthorization, {
      details: { expected: 'service_token' },
    }),
  ],
  malformed_authorization: [
    be('Authorization: Basic on GET /v1/credits/balance', engine.basicAuthorization, {
      details: { reason: 'scheme_not_bearer' },
    }),
    tt('Authorization: Basic on a signed POST /transcribe', ttt.basicAuthorization, {
      details: { reason: 'scheme_not_bearer' },
    }),
  ],
  invalid_token: [
    be('a user JWT signed by another issuer', engine.jwtFromAnotherIssuer, {
      details: { credential: 'user_jwt', reason: 'signature_invalid' },
    }),
    tt('a service token signed by a key the engine does not hold', ttt.forgedServiceToken, {
      details: { credential: 'service_token', reason: 'signature_invalid' },
    }),
  ],
  token_expired: [
    be('a user JWT that expired 1000 s ago', engine.expiredJwt, {
      details: { credential: 'user_jwt', clockToleranceSec: 30 },
    }),
    tt('a service token that expired 1100 s ago', ttt.expiredServiceToken, {
      details: { credential: 'service_token', clockToleranceSec: 30 },
    }),
  ],
  token_not_yet_valid: [
    be('a user JWT whose nbf is 10 minutes ahead', engine.jwtNotYetValid, {
      details: { credential: 'user_jwt', claim: 'nbf' },
    }),
    tt('a service token whose nbf is 10 minutes ahead', ttt.serviceTokenNotYetValid, {
      details: { credential: 'service_token', claim: 'nbf' },
    }),
  ],
  invalid_token_claims: [
    be('a user JWT without sub', engine.jwtWithoutSub, {
      details: { credential: 'user_jwt', claim: 'sub', reason: 'missing' },
    }),
    tt('a service token without jti', ttt.serviceTokenWithoutJti, {
      details: { credential: 'service_token', claim: 'jti', reason: 'missing' },
    }),
  ],
  insufficient_scope: [
    be('a credits:read user JWT vending a token', engine.readOnlyScopeVends, {
      details: { requiredScope: 'ttt:transcribe', grantedScopes: ['credits:read'] },
    }),
    tt('a service token scoped credits:read', ttt.serviceTokenWithoutScope, {
      details: { requiredScope: 'ttt:transcribe', grantedScopes: ['credits:read'] },
    }),
  ],
  user_mismatch: [
    be('a vend whose body names another user', engine.vendForAnotherUser, { details: { bodyUserId: 'someone-else' } }),
  ],
  forbidden: [be("a user reading another user's job", engine.readAnotherUsersJob, { details: { resource: 'job' } })],
  service_token_required: [
    be('a user JWT on POST /ttt/transcribe', engine.userJwtAsServiceToken, { details: { received: 'user_jwt' } }),
  ],
  service_token_already_used: [
    be('a service token submitted twice', engine.submitTwice),
    // TTTranscribe knows nothing of credits: `refunded` is the engine's (it settles the credit).
    tt('a service token submitted twice', ttt.submitTwice, { detailKeys: ['jobId'] }),
  ],
  service_token_revoked: [
    be('resubmitting a token refunded after TTTranscribe was unreachable', engine.submitRefundedToken, {
      details: { reason: 'upstream_unavailable' },
    }),
  ],
  credential_type_mismatch: [
    be('a tttsk_ shared secret as the bearer of a user endpoint', engine.sharedSecretAsBearer, {
      details: { received: 'shared_secret', expected: 'user_jwt' },
    }),
  ],
  integration_token_malformed: [
    be('a truncated yit_ token on GET /v1/credits/balance', engine.truncatedIntegrationToken, {
      details: { credential: 'integration_token', reason: 'wrong_length' },
    }),
  ],
  integration_token_unknown: [
    be('a well-formed yit_ token this engine never issued', engine.integrationTokenNeverIssued, {
      details: { credential: 'integration_token' },
    }),
  ],
  integration_token_revoked: [
    be('an integration token used after DELETE /v1/integrations/tokens/{tokenId}', engine.revokedIntegrationToken),
  ],
  integration_token_expired: [
    be('an integration token used 61 s into a 60 s lifetime', engine.expiredIntegrationToken),
  ],
  integration_token_not_found: [
    be('revoking a token id the user does not own', engine.revokeUnknownIntegrationToken, {
      details: { tokenId: 'itk_00000000000000000000000000' },
    }),
  ],
  missing_engine_auth_header: [
    tt('an unsigned probe', ttt.unsigned, { details: { header: 'X-Engine-Auth', acceptedVersions: ['v1'] } }),
  ],
  invalid_engine_auth_header: [
    tt('a probe signed for another target', ttt.signedForAnotherTarget, { details: { reason: 'signature_mismatch' } }),
  ],
  engine_auth_key_mismatch: [tt('a probe signed with another shared secret', ttt.signedWithAnotherKey)],
  engine_auth_timestamp_skewed: [
    tt('a probe signed by a clock 7 minutes behind', ttt.signedSevenMinutesAgo, { details: { toleranceSec: 300 } }),
  ],
  engine_auth_replayed: [
    tt('a probe sent twice with the same nonce', ttt.replayedNonce, { details: { replayWindowSec: 600 } }),
  ],
  invalid_request: [
    be('a vend without clientRequestId', engine.vendWithoutKey),
    tt('a job with an empty url', ttt.emptyUrl),
  ],
  unsupported_url: [
    be('an ftp:// URL, refused by TTTranscribe and passed on', engine.submitFtpUrl, {
      details: { reason: 'scheme_not_allowed' },
    }),
    tt('an ftp:// URL', ttt.ftpUrl, { details: { reason: 'scheme_not_allowed' } }),
  ],
  payload_too_large: [
    be('a 20 KB vend body (limit 16 KiB)', engine.oversizedBody, { details: { limitBytes: 16 * 1024 } }),
    tt('a 70 KB probe body (limit 64 KiB)', ttt.oversizedBody, { details: { limitBytes: 64 * 1024 } }),
  ],
  request_header_too_large: [
    be('a 100 KB bearer token', engine.oversizedHeader, { details: { limitBytes: 16 * 1024 } }),
    tt('a 100 KB X-Engine-Auth header', ttt.oversizedHeader, { details: { limitBytes: 16 * 1024 } }),
  ],
  unsupported_media_type: [
    be('a text/plain vend body', engine.textBody, { details: { received: 'text/plain' } }),
    tt('a signed text/plain probe body', ttt.textBody, { details: { received: 'text/plain' } }),
  ],
  not_found: [
    be('GET /v1/credit/balance (a typo)', engine.missingV1Prefix, {
      details: { method: 'GET', path: '/v1/credit/balance' },
    }),
    tt('GET /v1/transcribe', ttt.unknownPath, { details: { method: 'GET', path: '/v1/transcribe' } }),
  ],
  job_not_found: [
    be('the status of a job nobody submitted', engine.unknownJob, { details: { jobId: 'job_UNKNOWN0000000000' } }),
    tt('the signed status of a job nobody submitted', ttt.unknownJob, { details: { jobId: 'job_UNKNOWN0000000000' } }),
  ],
  method_not_allowed: [
    be('DELETE /v1/vend-token', engine.deleteVend, { details: { allowed: ['POST'] }, headers: ['Allow'] }),
    tt('DELETE /transcribe', ttt.deleteTranscribe, { details: { allowed: ['POST'] }, headers: ['Allow'] }),
  ],
  insufficient_credits: [
    be('a fourth vend after the 3 signup credits', engine.vendPastTheBalance, { details: { balance: 0, required: 1 } }),
  ],
  idempotency_key_reused: [
    be('a clientRequestId reused with another body', engine.reuseKeyWithAnotherBody),
    tt('an Idempotency-Key reused with another service token', ttt.reuseIdempotencyKeyWithAnotherToken),
  ],
  idempotency_in_progress: [
    be('the same vend while another replica holds its key (PostgreSQL)', engine.sameKeyWhileInProgress),
  ],
  rate_limited: [
    be('vends past RATE_LIMIT_VEND_PER_MIN', engine.vendOverTheRateLimit, {
      details: { windowSec: 60 },
      headers: ['Retry-After'],
    }),
  ],
  upstream_auth_failure: [
    be('a submission to a TTTranscribe holding another secret', engine.submitToMismatchedTtt, {
      details: {
        upstream: 'tttranscribe',
        upstreamStatus: 401,
        upstreamCode: 'engine_auth_key_mismatch',
        creditRefunded: true,
      },
    }),
  ],
  upstream_error: [
    // Its lookup by key fails too (the same closed database): the submission stays pending, nothing refunded yet.
    be('a submission to a TTTranscribe whose database is closed', engine.submitToBrokenTtt, {
      details: {
        upstream: 'tttranscribe',
        upstreamStatus: 500,
        upstreamCode: 'internal_error',
        creditRefunded: false,
        submissionPending: true,
      },
    }),
  ],
  upstream_unavailable: [
    be('a submission while TTTranscribe refuses connections', engine.submitToRefusedTtt, {
      details: { upstream: 'tttranscribe', reason: 'connection_refused', creditRefunded: true },
      headers: ['Retry-After'],
    }),
  ],
  upstream_timeout: [
    be('a submission TTTranscribe never answers (UPSTREAM_TIMEOUT_MS=300)', engine.submitToHangingTtt, {
      // No answer: the request may still land, so the submission is pending (a resubmission or the sweep settles it).
      details: { upstream: 'tttranscribe', timeoutMs: 300, creditRefunded: false, submissionPending: true },
    }),
  ],
  internal_error: [
    be('a vend whose service-token signer fails', engine.signerFails),
    tt('a status read while the job database is closed', ttt.readWithClosedDatabase),
  ],
  service_unavailable: [
    be('GET /v1/credits/balance while the engine shuts down', engine.balanceWhileDraining, {
      details: { retryAfterSec: 5, reason: 'shutting_down' },
      headers: ['Retry-After', 'Connection'],
    }),
    tt("a job while the engine's JWKS cannot be fetched", ttt.submitWhileJwksUnreachable, { headers: ['Retry-After'] }),
  ],
} as const satisfies Record<ErrorCode, Scenarios>;
