import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SharedSecretError,
  engineAuthKeyId,
  engineAuthKeysFromEnv,
  explainSecretMixup,
  generateSharedSecret,
  parseSharedSecret,
} from '../../../server/protocol/engine-auth-secret.js';

const TEST_KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const TEST_SECRET = 'tttsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';
const RULE = "TTT_SHARED_SECRET must be 'tttsk_' followed by 43 base64url characters (32 random bytes); got ";

function parseError(value: string | undefined, variable = 'TTT_SHARED_SECRET'): SharedSecretError {
  try {
    parseSharedSecret(variable, value);
  } catch (e) {
    if (e instanceof SharedSecretError) return e;
    throw e;
  }
  throw new Error('expected a SharedSecretError');
}

/** No 6-character run of the secret material may appear in the message, hint or serialised error. */
function expectNoSecret(error: SharedSecretError, value: string): void {
  const visible = [error.message, error.hint, String(error), JSON.stringify(error)].join('\n');
  const material = value
    .trim()
    .replace(/^["']|["']$/g, '')
    .replace(/^tttsk_/, '');
  for (let i = 0; i + 6 <= material.length; i++) expect(visible).not.toContain(material.slice(i, i + 6));
}

describe('parseSharedSecret', () => {
  it('decodes a valid secret into its 32 bytes and key id', () => {
    const { key, keyId } = parseSharedSecret('TTT_SHARED_SECRET', TEST_SECRET);
    expect(Array.from(key)).toEqual(Array.from(TEST_KEY));
    expect(keyId).toBe('cfee8db761146f8b');
  });

  it.each([undefined, ''])('reports a missing value (%j)', (value) => {
    const e = parseError(value);
    expect(e).toMatchObject({ variable: 'TTT_SHARED_SECRET', rule: 'missing' });
    expect(e.message).toContain(`${RULE}nothing (unset or empty)`);
  });

  const key = randomBytes(32);
  const mixups: [string, string, string, string, RegExp][] = [
    [
      'standard base64 of the key',
      key.toString('base64'),
      'prefix',
      'standard-base64',
      /without the tttsk_ prefix \(length 44, looks like standard base64\)/,
    ],
    [
      'base64url without the prefix',
      key.toString('base64url'),
      'prefix',
      'unprefixed-base64url',
      /\(length 43, looks like base64url without the tttsk_ prefix\)\. Prefix the value with tttsk_/,
    ],
    ['hex of the key', key.toString('hex'), 'prefix', 'hex', /\(length 64, looks like hex \(32 bytes\)\)/],
    ['a raw passphrase', 'correct horse battery staple', 'prefix', 'raw', /looks like a raw string/],
    [
      'tttsk_ + standard base64',
      `tttsk_${key.toString('base64')}`,
      'base64url',
      'prefixed-standard-base64',
      /is not base64url .*replace '\+' with '-'/,
    ],
    ['a trailing newline', `tttsk_${key.toString('base64url')}\n`, 'base64url', 'whitespace', /whitespace/],
    ['a quoted value', `"tttsk_${key.toString('base64url')}"`, 'prefix', 'quoted', /Remove the quotes/],
  ];

  it.each(mixups)('explains %s without echoing it', (_name, value, rule, kind, message) => {
    const e = parseError(value);
    expect(e.rule).toBe(rule);
    expect(e.variable).toBe('TTT_SHARED_SECRET');
    expect(e.message.startsWith(RULE)).toBe(true);
    expect(e.message).toMatch(message);
    expect(explainSecretMixup(value)?.kind).toBe(kind);
    expectNoSecret(e, value);
  });

  it('matches the documented message for a standard-base64 value', () => {
    expect(parseError('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=').message).toMatch(
      new RegExp(
        `^${RULE.replace(/[()]/g, '\\$&')}a value without the tttsk_ prefix \\(length 44, looks like standard base64\\)\\. `,
      ),
    );
  });

  it('reports the decoded length when it is not 32 bytes', () => {
    const value = `tttsk_${randomBytes(16).toString('base64url')}`;
    const e = parseError(value);
    expect(e.rule).toBe('length');
    expect(e.message).toContain('decodes to 16 bytes, not 32 (length 28)');
    expectNoSecret(e, value);
  });

  it('rejects non-canonical base64url (stray bits in the last character)', () => {
    const e = parseError(`${TEST_SECRET.slice(0, -1)}9`); // '8' -> '9' sets a padding bit
    expect(e.rule).toBe('base64url');
    expect(e.message).toContain('not canonical base64url');
  });

  it('rejects an impossible base64url length and names the variable it was given', () => {
    const e = parseError(`tttsk_${'A'.repeat(41)}`, 'TTT_SHARED_SECRET_NEXT');
    expect(e).toMatchObject({ variable: 'TTT_SHARED_SECRET_NEXT', rule: 'base64url' });
    expect(e.message.startsWith('TTT_SHARED_SECRET_NEXT must be')).toBe(true);
  });

  it('returns no mix-up for a well-formed value', () => {
    expect(explainSecretMixup(TEST_SECRET)).toBeUndefined();
  });
});

describe('generateSharedSecret and engineAuthKeyId', () => {
  it('generates distinct secrets that parse', () => {
    const a = generateSharedSecret();
    const b = generateSharedSecret();
    expect(a).toMatch(/^tttsk_[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(parseSharedSecret('TTT_SHARED_SECRET', a).key).toHaveLength(32);
  });

  it('derives the kid as the first 16 hex chars of HMAC-SHA256(key, "ttt-engine-auth/kid/v1")', () => {
    expect(engineAuthKeyId(TEST_KEY)).toBe('cfee8db761146f8b');
    expect(engineAuthKeyId(Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i))).toBe('ceb0a26cd1ae8ecd');
  });
});

describe('engineAuthKeysFromEnv', () => {
  const next = 'tttsk_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8';

  it('returns the current key, then the next one when set', () => {
    expect(engineAuthKeysFromEnv({ TTT_SHARED_SECRET: TEST_SECRET }).map((k) => k.keyId)).toEqual(['cfee8db761146f8b']);
    expect(engineAuthKeysFromEnv({ TTT_SHARED_SECRET: TEST_SECRET, TTT_SHARED_SECRET_NEXT: '' })).toHaveLength(1);
    expect(
      engineAuthKeysFromEnv({ TTT_SHARED_SECRET: TEST_SECRET, TTT_SHARED_SECRET_NEXT: next }).map((k) => k.keyId),
    ).toEqual(['cfee8db761146f8b', 'ceb0a26cd1ae8ecd']);
  });

  it('ignores a NEXT equal to the current key', () => {
    expect(engineAuthKeysFromEnv({ TTT_SHARED_SECRET: TEST_SECRET, TTT_SHARED_SECRET_NEXT: TEST_SECRET })).toHaveLength(
      1,
    );
  });

  it('names the variable that is wrong', () => {
    expect(() => engineAuthKeysFromEnv({})).toThrow(
      expect.objectContaining({ variable: 'TTT_SHARED_SECRET', rule: 'missing' }),
    );
    expect(() => engineAuthKeysFromEnv({ TTT_SHARED_SECRET: TEST_SECRET, TTT_SHARED_SECRET_NEXT: 'hunter2' })).toThrow(
      expect.objectContaining({ variable: 'TTT_SHARED_SECRET_NEXT', rule: 'prefix' }),
    );
  });
});
