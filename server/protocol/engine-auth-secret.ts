import { createHmac, randomBytes } from 'node:crypto';
import type { EngineAuthKey } from './engine-auth.js';

/** Every shared secret starts with this prefix so a raw password or a bare base64 value is caught at startup. */
export const SHARED_SECRET_PREFIX = 'tttsk_';
const KEY_BYTES = 32;
const ENCODED_LENGTH = 43;
const KID_LABEL = 'ttt-engine-auth/kid/v1';
const RULE_TEXT = `must be '${SHARED_SECRET_PREFIX}' followed by ${ENCODED_LENGTH} base64url characters (${KEY_BYTES} random bytes)`;
const GENERATE_HINT =
  'Generate one with `pluct secret new` and set the same value on the Business Engine and TTTranscribe.';

/** Which rule of the secret format a value broke. */
export type SharedSecretRule = 'missing' | 'prefix' | 'base64url' | 'length';

/**
 * A configuration error for `TTT_SHARED_SECRET` / `TTT_SHARED_SECRET_NEXT`. The message names the variable and
 * the rule and describes the value's shape (length, what it looks like), never the value itself.
 *
 * @example
 * try { parseSharedSecret('TTT_SHARED_SECRET', process.env.TTT_SHARED_SECRET); }
 * catch (e) { if (e instanceof SharedSecretError) console.error(e.variable, e.rule, e.message); }
 */
export class SharedSecretError extends Error {
  override readonly name = 'SharedSecretError';
  constructor(
    readonly variable: string,
    readonly rule: SharedSecretRule,
    message: string,
    /** What to do about it (no secret material); `pluct doctor` prints this. */
    readonly hint: string,
  ) {
    super(message);
  }
}

/** A recognised way of getting the secret format wrong. */
export type SecretMixupKind =
  'whitespace' | 'quoted' | 'standard-base64' | 'prefixed-standard-base64' | 'unprefixed-base64url' | 'hex' | 'raw';

export interface SecretMixup {
  readonly kind: SecretMixupKind;
  /** Short phrase for "(length 44, looks like …)"; contains no part of the value. */
  readonly looksLike: string;
  /** What to change. */
  readonly fix: string;
}

/**
 * Guess how a malformed secret value was produced, for error messages and `pluct doctor`. Returns `undefined`
 * when the value has the prefix and no recognisable mix-up (it may still have the wrong length).
 *
 * @example
 * explainSecretMixup('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=')?.kind; // 'standard-base64'
 */
export function explainSecretMixup(value: string): SecretMixup | undefined {
  if (value !== value.trim()) {
    return mixup(
      'whitespace',
      'it has leading/trailing whitespace or a newline',
      'Remove the surrounding whitespace (often a trailing newline from `echo` or a copied line break).',
    );
  }
  if (value.length >= 2 && /^(["']).*\1$/s.test(value)) {
    return mixup(
      'quoted',
      'a quoted value',
      'Remove the quotes around the value (or use an env loader that strips them).',
    );
  }
  const reencode =
    'Re-encode the same 32 bytes as base64url without padding and prefix it with tttsk_, ' +
    'or generate a new one with `pluct secret new`.';
  if (value.startsWith(SHARED_SECRET_PREFIX)) {
    const rest = value.slice(SHARED_SECRET_PREFIX.length);
    if (isStandardBase64(rest)) {
      return mixup(
        'prefixed-standard-base64',
        'standard base64 after the prefix',
        "Use base64url after tttsk_: replace '+' with '-' and '/' with '_' and drop the '=' padding.",
      );
    }
    return undefined;
  }
  if (/^[0-9a-fA-F]+$/.test(value) && value.length >= 32 && value.length % 2 === 0) {
    return mixup('hex', `hex (${value.length / 2} bytes)`, reencode);
  }
  if (isStandardBase64(value)) return mixup('standard-base64', 'standard base64', reencode);
  if (/^[A-Za-z0-9_-]+$/.test(value) && value.length === ENCODED_LENGTH) {
    return mixup('unprefixed-base64url', 'base64url without the tttsk_ prefix', 'Prefix the value with tttsk_.');
  }
  return mixup('raw', 'a raw string, not a generated secret', GENERATE_HINT);
}

/**
 * Parse and validate a shared secret from the named environment variable.
 *
 * @throws SharedSecretError naming `variable` and the broken rule.
 * @example
 * const current = parseSharedSecret('TTT_SHARED_SECRET', env.TTT_SHARED_SECRET); // { key, keyId }
 */
export function parseSharedSecret(variable: string, value: string | undefined): EngineAuthKey {
  if (value === undefined || value === '') {
    throw new SharedSecretError(
      variable,
      'missing',
      `${variable} ${RULE_TEXT}; got nothing (unset or empty). ${GENERATE_HINT}`,
      GENERATE_HINT,
    );
  }
  const found = explainSecretMixup(value);
  const shape = `(length ${value.length}${found ? `, looks like ${found.looksLike}` : ''})`;
  const fail = (rule: SharedSecretRule, got: string, fallbackHint: string): SharedSecretError => {
    const hint = found?.fix ?? fallbackHint;
    return new SharedSecretError(variable, rule, `${variable} ${RULE_TEXT}; got ${got} ${shape}. ${hint}`, hint);
  };
  if (!value.startsWith(SHARED_SECRET_PREFIX)) {
    throw fail('prefix', `a value without the ${SHARED_SECRET_PREFIX} prefix`, GENERATE_HINT);
  }
  const rest = value.slice(SHARED_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(rest) || rest.length % 4 === 1) {
    throw fail('base64url', `a value whose part after ${SHARED_SECRET_PREFIX} is not base64url`, GENERATE_HINT);
  }
  const key = Buffer.from(rest, 'base64url');
  if (key.length !== KEY_BYTES) {
    throw fail(
      'length',
      `a value whose part after ${SHARED_SECRET_PREFIX} decodes to ${key.length} bytes, not ${KEY_BYTES}`,
      GENERATE_HINT,
    );
  }
  if (key.toString('base64url') !== rest) {
    throw fail(
      'base64url',
      'a value that is not canonical base64url (its last character carries stray bits)',
      GENERATE_HINT,
    );
  }
  // Copy out of Buffer's shared pool so the key owns its memory.
  const owned = Uint8Array.from(key);
  return { key: owned, keyId: engineAuthKeyId(owned) };
}

/**
 * Read `TTT_SHARED_SECRET` (required) and `TTT_SHARED_SECRET_NEXT` (optional; empty means unset) into the key
 * list the signer and verifier take: current first. A NEXT equal to the current key is ignored.
 *
 * @example
 * const keys = engineAuthKeysFromEnv(process.env); // call once, in config.ts
 */
export function engineAuthKeysFromEnv(env: Readonly<Record<string, string | undefined>>): EngineAuthKey[] {
  const current = parseSharedSecret('TTT_SHARED_SECRET', env['TTT_SHARED_SECRET']);
  const nextValue = env['TTT_SHARED_SECRET_NEXT'];
  if (nextValue === undefined || nextValue === '') return [current];
  const next = parseSharedSecret('TTT_SHARED_SECRET_NEXT', nextValue);
  return next.keyId === current.keyId ? [current] : [current, next];
}

/**
 * A fresh secret from 32 cryptographically random bytes (`tttsk_` + 43 base64url characters).
 *
 * @example
 * generateSharedSecret(); // 'tttsk_Xq3…' (49 characters)
 */
export function generateSharedSecret(): string {
  return SHARED_SECRET_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
}

/**
 * The public key id: first 16 lowercase hex characters of HMAC-SHA256(key, "ttt-engine-auth/kid/v1").
 *
 * @example
 * engineAuthKeyId(new Uint8Array(32).map((_, i) => i)); // 16 hex characters
 */
export function engineAuthKeyId(key: Uint8Array): string {
  return createHmac('sha256', key).update(KID_LABEL).digest('hex').slice(0, 16);
}

function isStandardBase64(s: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return false;
  // Padded and a multiple of 4, or the unpadded 43-character form of 32 bytes; a short 'pass/word' stays "raw".
  return (s.length % 4 === 0 && /[+/=]/.test(s)) || (s.length === ENCODED_LENGTH && /[+/]/.test(s));
}

function mixup(kind: SecretMixupKind, looksLike: string, fix: string): SecretMixup {
  return { kind, looksLike, fix };
}
