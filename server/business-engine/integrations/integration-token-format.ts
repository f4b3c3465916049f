import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** The prefix every integration token starts with (spec/shared/security.yaml#/integrationToken). */
export const INTEGRATION_TOKEN_PREFIX = 'yit_';
/** base62 characters of the 32 random bytes (62^43 > 2^256, so every value fits; shorter ones are zero-padded). */
export const INTEGRATION_TOKEN_BODY_LENGTH = 43;
/** base62 characters of the CRC32 checksum (62^6 > 2^32). */
export const INTEGRATION_TOKEN_CHECKSUM_LENGTH = 6;
/** The whole token: 4 + 43 + 6 = 53 characters. */
export const INTEGRATION_TOKEN_LENGTH =
  INTEGRATION_TOKEN_PREFIX.length + INTEGRATION_TOKEN_BODY_LENGTH + INTEGRATION_TOKEN_CHECKSUM_LENGTH;

const RANDOM_BYTES = 32;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62_ONLY = /^[0-9A-Za-z]*$/;

/** Why a value is not an integration token (the `reason` of integration_token_malformed). */
export type MalformedReason = 'wrong_prefix' | 'wrong_length' | 'invalid_characters' | 'checksum_mismatch';

export type ParsedIntegrationToken =
  { readonly ok: true; readonly token: string } | { readonly ok: false; readonly reason: MalformedReason };

/**
 * Encodes a non-negative integer in base62 (0-9, A-Z, a-z), left-padded with '0' to `width` characters.
 *
 * @example
 * base62(61n, 3); // '00z'
 */
export function base62(value: bigint, width: number): string {
  let out = '';
  let rest = value;
  while (rest > 0n) {
    out = BASE62.charAt(Number(rest % 62n)) + out;
    rest /= 62n;
  }
  if (out.length > width) throw new RangeError(`${value} needs more than ${width} base62 characters`);
  return out.padStart(width, '0');
}

/** The 6-character checksum of everything before it (prefix and body). */
function checksumOf(prefixAndBody: string): string {
  return base62(BigInt(crc32(prefixAndBody)), INTEGRATION_TOKEN_CHECKSUM_LENGTH);
}

/**
 * Creates a new integration token: `yit_` + base62 of 32 random bytes (43 characters) + base62 of the CRC32 of
 * the preceding part (6 characters). It is shown to its owner once; only {@link hashIntegrationToken} is stored.
 *
 * @example
 * const token = generateIntegrationToken(); // 'yit_8A941eO4OOEY9GxstPwACRjcIuTgclObscJ7s0l6sp00ifBTa'
 */
export function generateIntegrationToken(random: (size: number) => Uint8Array = randomBytes): string {
  const bytes = random(RANDOM_BYTES);
  if (bytes.length !== RANDOM_BYTES) throw new RangeError(`an integration token needs ${RANDOM_BYTES} random bytes`);
  const body = base62(BigInt(`0x${Buffer.from(bytes).toString('hex')}`), INTEGRATION_TOKEN_BODY_LENGTH);
  const prefixAndBody = INTEGRATION_TOKEN_PREFIX + body;
  return prefixAndBody + checksumOf(prefixAndBody);
}

/**
 * Checks a bearer value's form without any look-up: prefix, length, alphabet and checksum, in that order. A
 * `tttsk_` secret, a JWT or an arbitrary "service secret" fails here, so it never costs a database query.
 *
 * @example
 * parseIntegrationToken('yit_abc'); // { ok: false, reason: 'wrong_length' }
 * parseIntegrationToken(generateIntegrationToken()); // { ok: true, token: 'yit_…' }
 */
export function parseIntegrationToken(value: string): ParsedIntegrationToken {
  if (!value.startsWith(INTEGRATION_TOKEN_PREFIX)) return { ok: false, reason: 'wrong_prefix' };
  if (value.length !== INTEGRATION_TOKEN_LENGTH) return { ok: false, reason: 'wrong_length' };
  const rest = value.slice(INTEGRATION_TOKEN_PREFIX.length);
  if (!BASE62_ONLY.test(rest)) return { ok: false, reason: 'invalid_characters' };
  const cut = INTEGRATION_TOKEN_LENGTH - INTEGRATION_TOKEN_CHECKSUM_LENGTH;
  if (checksumOf(value.slice(0, cut)) !== value.slice(cut)) return { ok: false, reason: 'checksum_mismatch' };
  return { ok: true, token: value };
}

/**
 * The stored form of a token: SHA-256 of its text, lowercase hex. The token has 256 random bits, so a plain hash
 * (no salt, no slow KDF) cannot be reversed, and it allows a unique-index look-up.
 *
 * @example
 * hashIntegrationToken(token); // '9f86d081884c7d65…' (64 hex characters)
 */
export function hashIntegrationToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * Says, in words for a problem's `detail`, why a value is not an integration token.
 *
 * @example
 * describeMalformed('checksum_mismatch'); // 'its checksum does not match'
 */
export function describeMalformed(reason: MalformedReason): string {
  switch (reason) {
    case 'wrong_prefix':
      return `it does not start with '${INTEGRATION_TOKEN_PREFIX}'`;
    case 'wrong_length':
      return `it is not ${INTEGRATION_TOKEN_LENGTH} characters long`;
    case 'invalid_characters':
      return 'it has characters outside 0-9, A-Z, a-z';
    case 'checksum_mismatch':
      return 'its checksum does not match';
  }
}
