import { randomUUID } from 'node:crypto';

/** The header every SDK request carries; the services echo it and repeat it in error bodies. */
export const REQUEST_ID_HEADER = 'X-Request-ID';

// The services accept 8-128 characters of A-Z a-z 0-9 . _ : - and replace anything else with their own id.
const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * A fresh request id: `req_` and 32 hex characters.
 *
 * @example
 * newRequestId(); // 'req_3f1c2a9b8d7e4f50a1b2c3d4e5f60718'
 */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}

/**
 * The id of the nth retry of a request: the original id with a suffix, so the attempts stay correlated in logs
 * while each one is distinct.
 *
 * @example
 * retryRequestId('req_abc12345', 1); // 'req_abc12345.retry1'
 */
export function retryRequestId(requestId: string, attempt: number): string {
  return `${requestId}.retry${attempt}`;
}

/**
 * Whether the services will keep this id (rather than replacing it with their own).
 *
 * @example
 * isValidRequestId('req_1'); // false: shorter than 8 characters
 */
export function isValidRequestId(value: string): boolean {
  return VALID_REQUEST_ID.test(value);
}
