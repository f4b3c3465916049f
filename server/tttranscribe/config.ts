import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import type { EngineAuthKey } from '../protocol/engine-auth.js';
import { ConfigError, httpUrl, list, port, positiveInt, readSharedSecrets } from '../shared/config/env.js';
import { sandboxSettingProblems } from '../shared/config/sandbox-settings.js';
import { trustProxy, type TrustProxy } from '../shared/config/trust-proxy.js';
import { instanceIdFromEnv } from '../shared/instance/instance-id.js';
import type { ServiceTokenKeySource } from './auth/service-token-keys.js';
import type { MediaProcessorOptionsInput } from './media/media-options.js';
import { mediaOptionsFromEnv } from './media-config.js';
import { DEFAULT_TTT_RATE_LIMITS, type TttRateLimitConfig } from './ttt-rate-limits.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The engine's JWKS when neither TTT_SERVICE_TOKEN_JWKS_URL nor TTT_SERVICE_TOKEN_JWKS_FILE is set. */
export const DEFAULT_JWKS_URL = 'http://127.0.0.1:8787/.well-known/jwks.json';
export const DEFAULT_DB_PATH = './data/tttranscribe.db';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether TTT_HOST listens on loopback only (`localhost`, 127.0.0.0/8, ::1), so no other machine can call it. */
function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const version = isIP(bare);
  if (version === 0) return bare.toLowerCase() === 'localhost';
  return LOOPBACK.check(bare, version === 4 ? 'ipv4' : 'ipv6');
}

const HOST_ENTRY = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;

const schema = z.object({
  TTT_HOST: z.string().trim().min(1).default('127.0.0.1'),
  TTT_PORT: port(8788),
  TTT_DB: z.string().trim().min(1).default(DEFAULT_DB_PATH),
  TTT_SERVICE_TOKEN_JWKS_URL: httpUrl().optional(),
  TTT_SERVICE_TOKEN_JWKS_FILE: z.string().trim().min(1).optional(),
  TTT_ALLOWED_MEDIA_HOSTS: list().refine(
    (hosts) => hosts.every((h) => HOST_ENTRY.test(h)),
    'must be a comma-separated list of host names (a leading "*." allows subdomains), e.g. "cdn.example.com,*.example.org"',
  ),
  TTT_WORKER_CONCURRENCY: positiveInt(2).refine((n) => n <= 64, 'must be at most 64'),
  TTT_JOB_TIMEOUT_SEC: positiveInt(300),
  TTT_DB_POOL_MAX: positiveInt(10).refine((n) => n <= 1000, 'must be at most 1000'),
  TTT_RUN_WORKER: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  TTT_JOB_LEASE_SEC: positiveInt(30).refine(
    (n) => n >= 3,
    'must be at least 3 (the lease is renewed every third of it)',
  ),
  TTT_JOB_MAX_ATTEMPTS: positiveInt(3).refine((n) => n <= 100, 'must be at most 100'),
  TTT_ALLOW_PRIVATE_CIDRS_ON_PUBLIC_HOST: z.enum(['yes'], { error: 'must be yes, or unset' }).optional(),
  TTT_TRUST_PROXY: trustProxy(),
  TTT_METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  TTT_RATE_LIMIT_ENGINE_PER_MIN: positiveInt(DEFAULT_TTT_RATE_LIMITS.enginePerMin),
  TTT_RATE_LIMIT_METRICS_PER_MIN: positiveInt(DEFAULT_TTT_RATE_LIMITS.metricsPerMin),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/** TTTranscribe's whole configuration, validated once at start by {@link loadConfig}. */
export interface TttConfig {
  readonly host: string;
  readonly port: number;
  /** TTT_DB: a SQLite file (`':memory:'` for tests), or a `postgres://` / `postgresql://` URL for PostgreSQL. */
  readonly dbPath: string;
  /** TTT_DB_POOL_MAX: PostgreSQL connections per process (ignored for SQLite). */
  readonly dbPoolMax: number;
  /** TTT_RUN_WORKER: whether the API process also runs a job worker (false when workers run as their own processes). */
  readonly runWorker: boolean;
  /** TTT_JOB_LEASE_SEC: how long a worker's claim on a job lasts without renewal. */
  readonly jobLeaseSec: number;
  /** TTT_JOB_MAX_ATTEMPTS: claims of a job whose workers kept dying before it fails. */
  readonly jobMaxAttempts: number;
  /** X-Engine-Auth keys: TTT_SHARED_SECRET, then TTT_SHARED_SECRET_NEXT when set. */
  readonly engineAuthKeys: readonly EngineAuthKey[];
  readonly serviceTokenKeys: ServiceTokenKeySource;
  /** Empty: any host. */
  readonly allowedMediaHosts: readonly string[];
  readonly workerConcurrency: number;
  readonly jobTimeoutSec: number;
  /** TTT_METRICS_TOKEN: the bearer token of GET /metrics; undefined disables metrics (404). */
  readonly metricsToken?: string;
  /** Requests per minute per caller: per engine key id, and for the metrics token. */
  readonly rateLimits: TttRateLimitConfig;
  readonly logLevel: string;
  /** The media pipeline's options (createMediaProcessor). */
  readonly media: MediaProcessorOptionsInput;
  /** INSTANCE_ID, or a random `i-` id: names this replica in /health and X-Instance-Id. */
  readonly instanceId?: string;
  /** TTT_TRUST_PROXY: the load balancers whose X-Forwarded-For names the caller (rate-limit keys); default off. */
  readonly trustProxy?: TrustProxy;
}

/**
 * Reads and validates TTTranscribe's environment once. Any problem (a missing, malformed or short
 * TTT_SHARED_SECRET, a bad port, both JWKS variables, a bad media option...) throws one ConfigError listing
 * every variable and the rule it breaks, never a value. Blank variables count as unset. No secret has a default.
 * `worker: true` reads a worker process's configuration (worker-main.ts): the same variables, no shared secret.
 *
 * @example
 * let config: TttConfig;
 * try { config = loadConfig(process.env); } catch (error) { exitOnConfigError('TTTranscribe', error); }
 */
export function loadConfig(env: Env, options: { worker?: boolean } = {}): TttConfig {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') set[name] = value;

  const problems: Array<{ variable: string; message: string }> = [];
  let keys: EngineAuthKey[] = [];
  try {
    // A worker process (worker-main.ts) verifies no request, so it needs no X-Engine-Auth secret.
    if (!options.worker) keys = readSharedSecrets(env, { next: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const parsed = schema.safeParse(set);
  if (!parsed.success)
    problems.push(...parsed.error.issues.map((i) => ({ variable: String(i.path[0]), message: i.message })));
  if (set['TTT_SERVICE_TOKEN_JWKS_URL'] !== undefined && set['TTT_SERVICE_TOKEN_JWKS_FILE'] !== undefined) {
    problems.push({
      variable: 'TTT_SERVICE_TOKEN_JWKS_FILE',
      message: 'must not be set together with TTT_SERVICE_TOKEN_JWKS_URL (choose one key source)',
    });
  }
  const media = mediaOptionsFromEnv(set);
  if (!media.ok) problems.push(...media.problems);
  let instanceId: string | undefined;
  try {
    instanceId = instanceIdFromEnv(set);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  // A development .env's TTT_ALLOW_PRIVATE_CIDRS on a server reachable from other machines would let callers make
  // TTTranscribe fetch from its own network (SSRF): refused unless confirmed.
  const privateCidrs = media.ok ? (media.options.allowPrivateCidrs ?? []) : [];
  if (
    parsed.success &&
    privateCidrs.length > 0 &&
    !isLoopbackHost(parsed.data.TTT_HOST) &&
    parsed.data.TTT_ALLOW_PRIVATE_CIDRS_ON_PUBLIC_HOST !== 'yes'
  ) {
    problems.push({
      variable: 'TTT_ALLOW_PRIVATE_CIDRS',
      message:
        `allows media fetches from non-public ranges (${privateCidrs.join(', ')}) while TTT_HOST=${parsed.data.TTT_HOST} ` +
        'is reachable beyond this machine, so callers could make TTTranscribe fetch from its own network: unset it ' +
        '(it belongs to local development stacks), listen on 127.0.0.1, or set TTT_ALLOW_PRIVATE_CIDRS_ON_PUBLIC_HOST=yes ' +
        'if this is intended',
    });
  }
  problems.push(...sandboxSettingProblems(env));
  if (problems.length > 0 || !parsed.success || !media.ok) throw new ConfigError(problems);

  const e = parsed.data;
  return {
    host: e.TTT_HOST,
    port: e.TTT_PORT,
    dbPath: e.TTT_DB,
    dbPoolMax: e.TTT_DB_POOL_MAX,
    runWorker: e.TTT_RUN_WORKER === 'true',
    jobLeaseSec: e.TTT_JOB_LEASE_SEC,
    jobMaxAttempts: e.TTT_JOB_MAX_ATTEMPTS,
    engineAuthKeys: keys,
    serviceTokenKeys:
      e.TTT_SERVICE_TOKEN_JWKS_FILE !== undefined
        ? { kind: 'file', path: e.TTT_SERVICE_TOKEN_JWKS_FILE }
        : { kind: 'url', url: e.TTT_SERVICE_TOKEN_JWKS_URL ?? DEFAULT_JWKS_URL },
    allowedMediaHosts: e.TTT_ALLOWED_MEDIA_HOSTS.map((h) => h.toLowerCase()),
    workerConcurrency: e.TTT_WORKER_CONCURRENCY,
    jobTimeoutSec: e.TTT_JOB_TIMEOUT_SEC,
    ...(e.TTT_METRICS_TOKEN === undefined ? {} : { metricsToken: e.TTT_METRICS_TOKEN }),
    rateLimits: { enginePerMin: e.TTT_RATE_LIMIT_ENGINE_PER_MIN, metricsPerMin: e.TTT_RATE_LIMIT_METRICS_PER_MIN },
    logLevel: e.LOG_LEVEL,
    media: media.options,
    ...(instanceId === undefined ? {} : { instanceId }),
    trustProxy: e.TTT_TRUST_PROXY,
  };
}
