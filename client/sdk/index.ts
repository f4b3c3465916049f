/**
 * The Pluct SDK: a typed client for the Business Engine built on the generated openapi-fetch client.
 * Every call resolves to `{ data, error, response, requestId }`; HTTP errors are never thrown.
 *
 * @example
 * import { createPluctClient } from './client/sdk/index.js';
 * const pluct = createPluctClient({ baseUrl: 'http://127.0.0.1:8787', getUserToken: async () => myJwt });
 * const { data, error } = await pluct.balance();
 */
export { createPluctClient } from './pluct-client.js';
export type {
  Balance,
  CallOptions,
  LedgerPage,
  PluctClient,
  PluctClientOptions,
  PluctResult,
  TranscribeAccepted,
  TranscribeRequest,
  TranscriptionStatus,
  VendTokenResponse,
} from './pluct-client.js';
export type {
  PollOptions,
  TranscribeOptions,
  TranscribeOutcome,
  TranscribeProgress,
  TranscriptionCalls,
} from './transcribe.js';
export { isProblem } from './errors.js';
export type {
  AbortedError,
  JobFailedError,
  LocalError,
  LocalErrorCode,
  NetworkError,
  PluctError,
  PluctErrorCode,
  PollTimeoutError,
  ServiceTokenExpiredError,
  TokenRefreshFailedError,
  UnexpectedResponseError,
} from './errors.js';
export { REQUEST_ID_HEADER, isValidRequestId, newRequestId } from './request-id.js';
export { refreshThresholdMs, type GetUserToken } from './token-manager.js';
export type { AnyProblem, ErrorCode, JobFailureCode } from '../../generated/errors.js';
