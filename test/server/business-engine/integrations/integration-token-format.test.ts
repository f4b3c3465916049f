import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base62,
  describeMalformed,
  generateIntegrationToken,
  hashIntegrationToken,
  INTEGRATION_TOKEN_LENGTH,
  parseIntegrationToken,
} from '../../../../server/business-engine/integrations/integration-token-format.js';
import { generateSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { mintUserJwt } from '../../../helpers/user-tokens.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Replaces the character at `i` with another base62 character. */
function flip(token: string, i: number): string {
  const c = token[i]!;
  const other = BASE62[(BASE62.indexOf(c) + 1) % 62]!;
  return token.slice(0, i) + other + token.slice(i + 1);
}

describe('integration token format', () => {
  it('is yit_ + 43 base62 characters + a 6-character base62 CRC32 of the preceding part', () => {
    const token = generateIntegrationToken();
    expect(token).toMatch(/^yit_[0-9A-Za-z]{49}$/);
    expect(token).toHaveLength(INTEGRATION_TOKEN_LENGTH);
    expect(token.slice(-6)).toBe(base62(BigInt(crc32(token.slice(0, -6))), 6));
    expect(parseIntegrationToken(token)).toEqual({ ok: true, token });
  });

  it('encodes the 32 random bytes exactly, zero-padded to 43 characters', () => {
    const zeros = generateIntegrationToken(() => new Uint8Array(32));
    expect(zeros.slice(4, 47)).toBe('0'.repeat(43));
    const ones = generateIntegrationToken(() => new Uint8Array(32).fill(0xff));
    expect(BigInt(`0x${'ff'.repeat(32)}`)).toBe(
      Array.from(ones.slice(4, 47)).reduce((n, c) => n * 62n + BigInt(BASE62.indexOf(c)), 0n),
    );
    expect(parseIntegrationToken(zeros).ok).toBe(true);
    expect(parseIntegrationToken(ones).ok).toBe(true);
    expect(() => generateIntegrationToken(() => new Uint8Array(16))).toThrow(RangeError);
  });

  it('never repeats (256 random bits)', () => {
    const tokens = new Set(Array.from({ length: 200 }, () => generateIntegrationToken()));
    expect(tokens.size).toBe(200);
  });

  it.each([
    ['no prefix', (t: string) => t.slice(4), 'wrong_prefix'],
    ['another prefix', (t: string) => `yik_${t.slice(4)}`, 'wrong_prefix'],
    ['upper-case prefix', (t: string) => `YIT_${t.slice(4)}`, 'wrong_prefix'],
    ['one character short', (t: string) => t.slice(0, -1), 'wrong_length'],
    ['one character long', (t: string) => `${t}0`, 'wrong_length'],
    ['a base64url character', (t: string) => `${t.slice(0, 10)}-${t.slice(11)}`, 'invalid_characters'],
    ['a space', (t: string) => `${t.slice(0, 10)} ${t.slice(11)}`, 'invalid_characters'],
    ['a changed body character', (t: string) => flip(t, 20), 'checksum_mismatch'],
    ['a changed checksum character', (t: string) => flip(t, t.length - 1), 'checksum_mismatch'],
  ] as const)('rejects %s as %s', (_name, mutate, reason) => {
    expect(parseIntegrationToken(mutate(generateIntegrationToken()))).toEqual({ ok: false, reason });
  });

  it('rejects a tttsk_ shared secret, a JWT and the yit_ tokens of other systems by form alone', async () => {
    expect(parseIntegrationToken(generateSharedSecret())).toEqual({ ok: false, reason: 'wrong_prefix' });
    expect(parseIntegrationToken(await mintUserJwt())).toEqual({ ok: false, reason: 'wrong_prefix' });
    // Incident 05's format: yit_ + token_urlsafe(32), 43 base64url characters.
    expect(parseIntegrationToken(`yit_${Buffer.alloc(32, 7).toString('base64url')}`)).toEqual({
      ok: false,
      reason: 'wrong_length',
    });
    expect(parseIntegrationToken('')).toEqual({ ok: false, reason: 'wrong_prefix' });
  });

  it('detects every single-character change (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.nat(48),
        fc.integer({ min: 1, max: 61 }),
        (bytes, at, shift) => {
          const token = generateIntegrationToken(() => bytes);
          expect(parseIntegrationToken(token).ok).toBe(true);
          const i = 4 + at;
          const changed = token.slice(0, i) + BASE62[(BASE62.indexOf(token[i]!) + shift) % 62]! + token.slice(i + 1);
          expect(parseIntegrationToken(changed)).toEqual({ ok: false, reason: 'checksum_mismatch' });
        },
      ),
      { seed: 8, numRuns: 300 },
    );
  });

  it('refuses random strings, almost always without needing the checksum (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const parsed = parseIntegrationToken(value);
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) expect(describeMalformed(parsed.reason)).toMatch(/\w/);
      }),
      { seed: 8, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^yit_[0-9A-Za-z]{49}$/), (value) => {
        // A random well-formed string passes the checksum with probability 2^-32 at most.
        expect(parseIntegrationToken(value)).toEqual({ ok: false, reason: 'checksum_mismatch' });
      }),
      { seed: 8, numRuns: 300 },
    );
  });

  it("accepts the token of the spec's example (a real one, so the docs show the true form)", () => {
    const spec = readFileSync(new URL('../../../../generated/business-engine/openapi.json', import.meta.url), 'utf8');
    const example = /"token": "(yit_[0-9A-Za-z]+)"/.exec(spec)?.[1];
    expect(example).toBeDefined();
    expect(parseIntegrationToken(example!)).toEqual({ ok: true, token: example });
  });

  it('hashes to SHA-256 hex and base62 pads or refuses', () => {
    expect(hashIntegrationToken('yit_x')).toMatch(/^[0-9a-f]{64}$/);
    expect(hashIntegrationToken('yit_x')).not.toBe(hashIntegrationToken('yit_y'));
    expect(base62(0n, 3)).toBe('000');
    expect(base62(61n, 3)).toBe('00z');
    expect(base62(62n, 3)).toBe('010');
    expect(() => base62(62n ** 3n, 3)).toThrow(RangeError);
  });
});
