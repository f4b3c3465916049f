import { randomUUID } from 'node:crypto';

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** A new request id: `req_` and 32 hex characters. */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}

/** Whether a caller-chosen request id is acceptable (8-128 characters of `A-Z a-z 0-9 . _ : -`). */
export function isValidRequestId(value: string | undefined): value is string {
  return value !== undefined && REQUEST_ID.test(value);
}
