/**
 * The SDK's result and request types: what every call resolves with, and the spec's bodies it carries.
 *
 * @example
 * const result: PluctResult<Balance> = await pluct.balance({ requestId: 'req_123' });
 */
import type { components } from '../../generated/business-engine/client.js';
import type { PluctError } from './errors.js';

type Schemas = components['schemas'];
export type Balance = Schemas['Balance'];
export type LedgerPage = Schemas['LedgerPage'];
export type VendTokenResponse = Schemas['VendTokenResponse'];
export type TranscribeRequest = Schemas['TranscribeRequest'];
export type TranscribeAccepted = Schemas['TranscribeAccepted'];
export type TranscriptionStatus = Schemas['TranscriptionStatus'];

/**
 * What every SDK call resolves with, like openapi-fetch: `data` or `error`, never a thrown HTTP error.
 * `requestId` is the X-Request-ID the SDK sent (of the last attempt); `response` is absent when no answer came.
 */
export type PluctResult<T> =
  | { data: T; error?: undefined; response: Response; requestId: string }
  | { data?: undefined; error: PluctError; response: Response | undefined; requestId: string };

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  /** The X-Request-ID to send (default: a fresh `req_…` id). */
  requestId?: string;
}
