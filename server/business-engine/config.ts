import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { z } from 'zod';
import type { EngineAuthKey } from '../protocol/engine-auth.js';
import { ConfigError, httpUrl, parseEnv, port, positiveInt, readSharedSecrets } from '../shared/config/env.js';
import { sandboxSettingProblems } from '../shared/config/sandbox-settings.js';
import { trustProxy, type TrustProxy } from '../shared/config/trust-proxy.js';
import { instanceIdFromEnv } from '../shared/instance/instance-id.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Default longest lifetime (`exp - iat`) of a user JWT: 24 h (USER_JWT_MAX_LIFETIME_SECONDS). */
export const USER_JWT_DEFAULT_MAX_LIFETIME_SEC = 24 * 60 * 60;

/** How user JWTs are verified: HS256 with a shared secret, or an identity provider's JWKS. */
export type UserJwtConfig =
  | { readonly mode: 'hs256'; readonly secret: Uint8Array; readonly issuer?: string; readonly audience?: string }
  | { readonly mode: 'jwks'; readonly jwksUrl: string; readonly issuer?: string; readonly audience?: string };

/** The ES256 key that signs service tokens (a private JWK) and its key id. */
export interface ServiceTokenKeyConfig {
  readonly privateJwk: Readonly<Record<string, string>>;
  readonly kid: string;
}

/** The Business Engine's validated configuration; build it with {@link loadEngineConfig}. */
export interface EngineConfig {
  readonly host: string;
  readonly port: number;
  /** ENGINE_DB: a SQLite file (or ':memory:'), or a `postgres://` / `postgresql://` URL (may hold a password). */
  readonly dbPath: string;
  /** ENGINE_DB_POOL_MAX: most PostgreSQL connections per process (unused with SQLite). */
  readonly dbPoolMax: number;
  readonly userJwt: UserJwtConfig;
  /** USER_JWT_MAX_LIFETIME_SECONDS: the longest `exp - iat` a user JWT may claim (default 24 h). */
  readonly userJwtMaxLifetimeSec: number;
  readonly tttBaseUrl: string;
  /** X-Engine-Auth keys, current first (TTT_SHARED_SECRET, then TTT_SHARED_SECRET_NEXT). */
  readonly tttKeys: readonly EngineAuthKey[];
  readonly serviceTokenKey: ServiceTokenKeyConfig;
  readonly adminToken: string;
  /** ENGINE_METRICS_TOKEN: opens GET /metrics only (the admin token also does); undefined when unset. */
  readonly metricsToken?: string;
  readonly signupBonusCredits: number;
  /** Requests per minute for each caller under each rate-limit policy (see engine-rate-limits.ts). */
  readonly rateLimits: {
    readonly vendPerMin: number;
    readonly transcribePerMin: number;
    readonly readPerMin: number;
    readonly integrationsPerMin: number;
    readonly adminPerMin: number;
    readonly healthPerMin: number;
  };
  readonly upstreamTimeoutMs: number;
  /** How often the sweeper refunds expired tokens and reconciles submitted jobs. */
  readonly sweepIntervalSec: number;
  /** Static docs served under /docs when the folder exists. */
  readonly docsDir: string;
  readonly logLevel: string;
  /** INSTANCE_ID, or a random `i-` id: names this replica in /health and X-Instance-Id. */
  readonly instanceId?: string;
  /** ENGINE_TRUST_PROXY: the load balancers whose X-Forwarded-For names the caller (rate-limit keys); default off. */
  readonly trustProxy?: TrustProxy;
}

const MIN_USER_JWT_SECRET_BYTES = 32;
const MIN_ADMIN_TOKEN_CHARS = 32;
/** The longest UPSTREAM_TIMEOUT_MS: 4 x 30 s is the sweep's 2-minute stuck-submission window. */
const MAX_UPSTREAM_TIMEOUT_MS = 30_000;
const ID_DERIVATION_LABEL = 'pluct/secret-id/v1';

const optionalText = () => z.string().trim().min(1).optional();

const schema = z.object({
  ENGINE_HOST: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
  ENGINE_PORT: port(8787),
  ENGINE_DB: z.string().trim().min(1, 'must not be empty').default('./data/business-engine.db'),
  ENGINE_DB_POOL_MAX: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .default(10),
  USER_JWT_SECRET: z.string().optional(),
  USER_JWT_JWKS_URL: httpUrl().optional(),
  USER_JWT_ISSUER: optionalText(),
  USER_JWT_AUDIENCE: optionalText(),
  USER_JWT_MAX_LIFETIME_SECONDS: positiveInt(USER_JWT_DEFAULT_MAX_LIFETIME_SEC),
  TTT_BASE_URL: httpUrl().default('http://127.0.0.1:8788'),
  SERVICE_TOKEN_PRIVATE_KEY: z.string({ error: 'is required: an ES256 private key as a single-line JWK JSON' }),
  ADMIN_TOKEN: z
    .string({ error: `is required (at least ${MIN_ADMIN_TOKEN_CHARS} characters)` })
    .min(MIN_ADMIN_TOKEN_CHARS, `must be at least ${MIN_ADMIN_TOKEN_CHARS} characters`),
  ENGINE_METRICS_TOKEN: z
    .string()
    .min(MIN_ADMIN_TOKEN_CHARS, `must be at least ${MIN_ADMIN_TOKEN_CHARS} characters`)
    .optional(),
  SIGNUP_BONUS_CREDITS: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must not be negative')
    .default(3),
  RATE_LIMIT_VEND_PER_MIN: positiveInt(30),
  RATE_LIMIT_TRANSCRIBE_PER_MIN: positiveInt(30),
  RATE_LIMIT_READ_PER_MIN: positiveInt(300),
  RATE_LIMIT_INTEGRATIONS_PER_MIN: positiveInt(30),
  RATE_LIMIT_ADMIN_PER_MIN: positiveInt(120),
  RATE_LIMIT_HEALTH_PER_MIN: positiveInt(60),
  ENGINE_TRUST_PROXY: trustProxy(),
  // The sweep takes a submission in `submitting` for longer than max(2 min, 4 x this) as interrupted; a longer
  // upstream call (with its retries) could still be in flight then and be submitted twice.
  UPSTREAM_TIMEOUT_MS: positiveInt(5000).refine(
    (ms) => ms <= MAX_UPSTREAM_TIMEOUT_MS,
    `must be at most ${MAX_UPSTREAM_TIMEOUT_MS} (30 s): a submission still waiting on TTTranscribe would otherwise look stuck to the sweep`,
  ),
  ENGINE_SWEEP_INTERVAL_SEC: positiveInt(60),
  DOCS_DIR: z.string().trim().min(1).default('docs-dist'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/**
 * Reads and validates the Business Engine's environment once, at start. Every problem is reported at once, each
 * naming the variable and the rule, never the value. No secret has a default: TTT_SHARED_SECRET,
 * SERVICE_TOKEN_PRIVATE_KEY, ADMIN_TOKEN and USER_JWT_SECRET (or USER_JWT_JWKS_URL) must be set.
 * USER_JWT_SECRET is used as its raw UTF-8 bytes (never base64-decoded) and must be at least 32 bytes.
 *
 * @throws ConfigError listing every broken rule.
 * @example
 * const config = loadEngineConfig(process.env);
 * console.log(config.tttKeys.map((k) => k.keyId), config.serviceTokenKey.kid);
 */
export function loadEngineConfig(env: Env): EngineConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const problems: Array<{ variable: string; message: string }> = [];
  const collect = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const base = collect(() => parseEnv(schema, cleaned));
  const tttKeys = collect(() => readSharedSecrets(env, { next: true }));
  const userJwt = collect(() => readUserJwt(cleaned));
  const instanceId = collect(() => instanceIdFromEnv(cleaned));
  const serviceTokenKey =
    cleaned['SERVICE_TOKEN_PRIVATE_KEY'] === undefined
      ? undefined
      : collect(() => parseServiceTokenKey(cleaned['SERVICE_TOKEN_PRIVATE_KEY'] as string));
  if (base?.ENGINE_METRICS_TOKEN !== undefined && base.ENGINE_METRICS_TOKEN === base.ADMIN_TOKEN) {
    // A scraper holds the metrics token; if it were the admin token, the scraper could grant credits.
    problems.push({
      variable: 'ENGINE_METRICS_TOKEN',
      message: 'must differ from ADMIN_TOKEN (it is given to the metrics scraper)',
    });
  }
  problems.push(...sandboxSettingProblems(env));
  if (problems.length > 0 || !base || !tttKeys || !userJwt || !serviceTokenKey) {
    throw new ConfigError(dedupe(problems));
  }
  return {
    host: base.ENGINE_HOST,
    port: base.ENGINE_PORT,
    dbPath: base.ENGINE_DB,
    dbPoolMax: base.ENGINE_DB_POOL_MAX,
    userJwt,
    userJwtMaxLifetimeSec: base.USER_JWT_MAX_LIFETIME_SECONDS,
    tttBaseUrl: base.TTT_BASE_URL.replace(/\/+$/, ''),
    tttKeys,
    serviceTokenKey,
    adminToken: base.ADMIN_TOKEN,
    ...(base.ENGINE_METRICS_TOKEN === undefined ? {} : { metricsToken: base.ENGINE_METRICS_TOKEN }),
    signupBonusCredits: base.SIGNUP_BONUS_CREDITS,
    rateLimits: {
      vendPerMin: base.RATE_LIMIT_VEND_PER_MIN,
      transcribePerMin: base.RATE_LIMIT_TRANSCRIBE_PER_MIN,
      readPerMin: base.RATE_LIMIT_READ_PER_MIN,
      integrationsPerMin: base.RATE_LIMIT_INTEGRATIONS_PER_MIN,
      adminPerMin: base.RATE_LIMIT_ADMIN_PER_MIN,
      healthPerMin: base.RATE_LIMIT_HEALTH_PER_MIN,
    },
    upstreamTimeoutMs: base.UPSTREAM_TIMEOUT_MS,
    sweepIntervalSec: base.ENGINE_SWEEP_INTERVAL_SEC,
    docsDir: base.DOCS_DIR,
    logLevel: base.LOG_LEVEL,
    ...(instanceId === undefined ? {} : { instanceId }),
    trustProxy: base.ENGINE_TRUST_PROXY,
  };
}

function readUserJwt(env: Env): UserJwtConfig {
  const secret = env['USER_JWT_SECRET'];
  const jwksUrl = env['USER_JWT_JWKS_URL'];
  const issuer = env['USER_JWT_ISSUER']?.trim() || undefined;
  const audience = env['USER_JWT_AUDIENCE']?.trim() || undefined;
  const claims = { ...(issuer ? { issuer } : {}), ...(audience ? { audience } : {}) };
  if (secret !== undefined && jwksUrl !== undefined) {
    // Accepting both would let one token choose its verification: the HS/asymmetric mix-up the allow-list prevents.
    throw new ConfigError([
      {
        variable: 'USER_JWT_SECRET',
        message: 'and USER_JWT_JWKS_URL are both set; set exactly one (HS256 secret or an identity provider JWKS)',
      },
    ]);
  }
  if (jwksUrl !== undefined) return { mode: 'jwks', jwksUrl: jwksUrl.trim(), ...claims };
  if (secret === undefined) {
    throw new ConfigError([
      {
        variable: 'USER_JWT_SECRET',
        message: `is required (at least ${MIN_USER_JWT_SECRET_BYTES} bytes), unless USER_JWT_JWKS_URL is set`,
      },
    ]);
  }
  const bytes = Buffer.byteLength(secret, 'utf8');
  if (bytes < MIN_USER_JWT_SECRET_BYTES) {
    throw new ConfigError([
      {
        variable: 'USER_JWT_SECRET',
        message: `must be at least ${MIN_USER_JWT_SECRET_BYTES} bytes; got ${bytes}. It is used as raw UTF-8 bytes, never base64-decoded`,
      },
    ]);
  }
  return { mode: 'hs256', secret: new TextEncoder().encode(secret), ...claims };
}

/**
 * Parses SERVICE_TOKEN_PRIVATE_KEY: a single-line JWK JSON of an EC P-256 private key. Its kid is the JWK's own
 * `kid` when set, else its RFC 7638 thumbprint.
 *
 * @throws ConfigError naming SERVICE_TOKEN_PRIVATE_KEY and the rule (never the key).
 * @example
 * parseServiceTokenKey('{"kty":"EC","crv":"P-256","x":"…","y":"…","d":"…"}').kid; // 43-character thumbprint
 */
export function parseServiceTokenKey(value: string): ServiceTokenKeyConfig {
  const fail = (message: string): never => {
    throw new ConfigError([{ variable: 'SERVICE_TOKEN_PRIVATE_KEY', message }]);
  };
  let jwk: unknown;
  try {
    jwk = JSON.parse(value);
  } catch {
    return fail(`must be a single-line JWK JSON object (length ${value.length}, not valid JSON)`);
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return fail('must be a JWK JSON object');
  const record = jwk as Record<string, unknown>;
  if (record['kty'] !== 'EC' || record['crv'] !== 'P-256')
    return fail('must be an EC key on curve P-256 (kty "EC", crv "P-256") for ES256');
  for (const member of ['x', 'y', 'd'] as const) {
    if (typeof record[member] !== 'string' || !/^[A-Za-z0-9_-]+$/.test(record[member])) {
      return fail(
        member === 'd'
          ? 'must be a private key (the JWK has no "d" member)'
          : `must have a base64url "${member}" member`,
      );
    }
  }
  if (record['alg'] !== undefined && record['alg'] !== 'ES256') return fail('must have "alg" ES256 when alg is set');
  if (record['kid'] !== undefined && (typeof record['kid'] !== 'string' || record['kid'] === ''))
    return fail('must have a non-empty string "kid" when kid is set');
  const privateJwk: Record<string, string> = {
    kty: 'EC',
    crv: 'P-256',
    x: record['x'] as string,
    y: record['y'] as string,
    d: record['d'] as string,
  };
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: privateJwk, format: 'jwk' });
  } catch {
    return fail('is not a valid P-256 private key');
  }
  // Node takes d, x and y as given without checking they belong together; a mismatched key would sign tokens that
  // the published JWKS (x, y) never verifies, so every submission would be refused upstream. Sign a probe, verify it.
  if (!signsForItsPublicKey(privateKey, privateJwk)) {
    return fail(
      'does not match its public key: the private part "d" signs what its "x"/"y" do not verify (the members come from different keys)',
    );
  }
  const kid = typeof record['kid'] === 'string' ? record['kid'] : jwkThumbprint(privateJwk);
  return { privateJwk, kid };
}

/** Whether a probe signed with the private key verifies with the public key its JWK's x/y name (ES256). */
function signsForItsPublicKey(privateKey: KeyObject, jwk: Readonly<Record<string, string>>): boolean {
  try {
    const publicKey = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: jwk['x'] as string, y: jwk['y'] as string },
      format: 'jwk',
    });
    const probe = randomBytes(32);
    return verify('sha256', probe, publicKey, sign('sha256', probe, privateKey));
  } catch {
    return false;
  }
}

/**
 * The RFC 7638 SHA-256 thumbprint of an EC public key (base64url).
 *
 * @example
 * jwkThumbprint({ kty: 'EC', crv: 'P-256', x, y }); // 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'
 */
export function jwkThumbprint(jwk: Readonly<Record<string, string>>): string {
  const canonical = JSON.stringify({ crv: jwk['crv'], kty: jwk['kty'], x: jwk['x'], y: jwk['y'] });
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * A short public id of a secret that is not an X-Engine-Auth key (USER_JWT_SECRET, ADMIN_TOKEN): the first 16 hex
 * characters of HMAC-SHA256(secret, label). It tells two values apart without revealing either.
 *
 * @example
 * secretId('ADMIN_TOKEN', config.adminToken); // '0c2f9e8d7a6b5c4d'
 */
export function secretId(name: string, secret: Uint8Array | string): string {
  return createHmac('sha256', secret).update(`${ID_DERIVATION_LABEL}/${name}`).digest('hex').slice(0, 16);
}

function dedupe(problems: Array<{ variable: string; message: string }>): Array<{ variable: string; message: string }> {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.variable}\n${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
