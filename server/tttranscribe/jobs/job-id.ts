import { randomBytes } from 'node:crypto';

// Crockford base32: no I, L, O, U, so ids survive being read aloud or copied by hand.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 26;

/**
 * A new job id: `job_` and 26 random Crockford base32 characters (130 bits), matching JOB_ID_PATTERN
 * (server/protocol/job-id.ts).
 *
 * @example
 * newJobId(); // 'job_7M3Q0WZ4X9K2B8N6R1T5V0C3DF'
 */
export function newJobId(): string {
  const bytes = randomBytes(LENGTH);
  let id = 'job_';
  // 256 is a multiple of 32, so masking keeps the characters uniform.
  for (const byte of bytes) id += ALPHABET.charAt(byte & 31);
  return id;
}
