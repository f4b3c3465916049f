import { z } from 'zod';
import { SharedSecretError, parseSharedSecret } from '../../protocol/engine-auth-secret.js';
import type { EngineAuthKey } from '../../protocol/engine-auth.js';

/** A configuration that cannot start a service: each problem names the variable and the rule it breaks. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: Array<{ variable: string; message: string }>) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Validates environment variables against a zod object schema, once, at start. Messages name the variable and
 * the rule, never the value (values may be secrets).
 *
 * @example
 * const env = parseEnv(z.object({ TTT_PORT: port(8788) }), process.env);
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? '(environment)'),
      message: issue.message,
    })),
  );
}

/** A TCP port variable with a default (0 picks a free port). */
export function port(defaultPort: number) {
  return z.coerce
    .number({ error: 'must be a port number' })
    .int('must be a whole number')
    .min(0, 'must be between 0 and 65535')
    .max(65535, 'must be between 0 and 65535')
    .default(defaultPort);
}

/** A positive whole-number variable with a default. */
export function positiveInt(defaultValue: number) {
  return z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .positive('must be positive')
    .default(defaultValue);
}

/** An http(s) URL variable. */
export function httpUrl() {
  return z
    .string({ error: 'is required' })
    .trim()
    .refine((v) => /^https?:\/\/[^\s]+$/.test(v), 'must be an http(s) URL');
}

/** A comma-separated list variable. */
export function list() {
  return z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    );
}

/**
 * Reads an X-Engine-Auth shared secret variable (`tttsk_` + base64url of 32 bytes). A missing or malformed
 * value is a {@link ConfigError} naming the variable and the rule; `optional` allows it to be absent.
 *
 * @example
 * const [current] = readSharedSecrets(process.env, { next: true });
 */
export function readSharedSecrets(env: Env, options: { next: boolean }): EngineAuthKey[] {
  const problems: Array<{ variable: string; message: string }> = [];
  const keys: EngineAuthKey[] = [];
  const names = options.next ? ['TTT_SHARED_SECRET', 'TTT_SHARED_SECRET_NEXT'] : ['TTT_SHARED_SECRET'];
  for (const name of names) {
    const value = env[name];
    if (name !== 'TTT_SHARED_SECRET' && (value === undefined || value.trim() === '')) continue;
    try {
      const key = parseSharedSecret(name, value);
      if (!keys.some((k) => k.keyId === key.keyId)) keys.push(key);
    } catch (error) {
      if (!(error instanceof SharedSecretError)) throw error;
      problems.push({ variable: name, message: error.message.replace(new RegExp(`^${name}:?\\s*`), '') });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return keys;
}

/** Prints a configuration error for a person and exits: used by every main.ts. */
export function exitOnConfigError(service: string, error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(`${service} cannot start. ${error.message}`);
  } else {
    console.error(`${service} cannot start:`, error instanceof Error ? error.message : error);
  }
  process.exit(1);
}
