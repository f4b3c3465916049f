import { z } from 'zod';
import type { EngineAuthKey } from '../protocol/engine-auth.js';
import { ConfigError, httpUrl, list, port, positiveInt, readSharedSecrets } from '../shared/config/env.js';
import type { ServiceTokenKeySource } from './auth/service-token-keys.js';
import type { MediaProcessorOptionsInput } from './media/media-options.js';
import { mediaOptionsFromEnv } from './media-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The engine's JWKS when neither TTT_SERVICE_TOKEN_JWKS_URL nor TTT_SERVICE_TOKEN_JWKS_FILE is set. */
export const DEFAULT_JWKS_URL = 'http://127.0.0.1:8787/.well-known/jwks.json';
export const DEFAULT_DB_PATH = './data/tttranscribe.db';

const HOST_ENTRY = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;

const schema = z.object({
  TTT_HOST: z.string().trim().min(1).default('127.0.0.1'),
  TTT_PORT: port(8788),
  TTT_DB: z.string().trim().min(1).default(DEFAULT_DB_PATH),
  TTT_SERVICE_TOKEN_JWKS_URL: httpUrl().optional(),
  TTT_SERVICE_TOKEN_JWKS_FILE: z.string().trim().min(1).optional(),
  TTT_ALLOWED_MEDIA_HOSTS: list().refine((hosts) => hosts.every((h) => HOST_ENTRY.test(h)),
    'must be a comma-separated list of host names (a leading "*." allows subdomains), e.g. "cdn.example.com,*.example.org"'),
  TTT_WORKER_CONCURRENCY: positiveInt(2).refine((n) => n <= 64, 'must be at most 64'),
  TTT_JOB_TIMEOUT_SEC: positiveInt(300),
  TTT_METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    error: 'must be one of fatal, error, warn, info, debug, trace, silent',
  }).default('info'),
});

/** TTTranscribe's whole configuration, validated once at start by {@link loadConfig}. */
export interface TttConfig {
  readonly host: string;
  readonly port: number;
  /** SQLite file (`':memory:'` for tests). */
  readonly dbPath: string;
  /** X-Engine-Auth keys: TTT_SHARED_SECRET, then TTT_SHARED_SECRET_NEXT when set. */
  readonly engineAuthKeys: readonly EngineAuthKey[];
  readonly serviceTokenKeys: ServiceTokenKeySource;
  /** Empty: any host. */
  readonly allowedMediaHosts: readonly string[];
  readonly workerConcurrency: number;
  readonly jobTimeoutSec: number;
  /** TTT_METRICS_TOKEN: the bearer token of GET /metrics; undefined disables metrics (404). */
  readonly metricsToken?: string;
  readonly logLevel: string;
  /** The media pipeline's options (createMediaProcessor). */
  readonly media: MediaProcessorOptionsInput;
}

/**
 * Reads and validates TTTranscribe's environment once. Any problem (a missing, malformed or short
 * TTT_SHARED_SECRET, a bad port, both JWKS variables, a bad media option...) throws one ConfigError listing
 * every variable and the rule it breaks, never a value. Blank variables count as unset. No secret has a default.
 *
 * @example
 * let config: TttConfig;
 * try { config = loadConfig(process.env); } catch (error) { exitOnConfigError('TTTranscribe', error); }
 */
export function loadConfig(env: Env): TttConfig {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value.trim() !== '') set[name] = value;

  const problems: Array<{ variable: string; message: string }> = [];
  let keys: EngineAuthKey[] = [];
  try {
    keys = readSharedSecrets(env, { next: true });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const parsed = schema.safeParse(set);
  if (!parsed.success) problems.push(...parsed.error.issues.map((i) => ({ variable: String(i.path[0]), message: i.message })));
  if (set['TTT_SERVICE_TOKEN_JWKS_URL'] !== undefined && set['TTT_SERVICE_TOKEN_JWKS_FILE'] !== undefined) {
    problems.push({ variable: 'TTT_SERVICE_TOKEN_JWKS_FILE', message: 'must not be set together with TTT_SERVICE_TOKEN_JWKS_URL (choose one key source)' });
  }
  const media = mediaOptionsFromEnv(set);
  if (!media.ok) problems.push(...media.problems);
  if (problems.length > 0 || !parsed.success || !media.ok) throw new ConfigError(problems);

  const e = parsed.data;
  return {
    host: e.TTT_HOST,
    port: e.TTT_PORT,
    dbPath: e.TTT_DB,
    engineAuthKeys: keys,
    serviceTokenKeys: e.TTT_SERVICE_TOKEN_JWKS_FILE !== undefined
      ? { kind: 'file', path: e.TTT_SERVICE_TOKEN_JWKS_FILE }
      : { kind: 'url', url: e.TTT_SERVICE_TOKEN_JWKS_URL ?? DEFAULT_JWKS_URL },
    allowedMediaHosts: e.TTT_ALLOWED_MEDIA_HOSTS.map((h) => h.toLowerCase()),
    workerConcurrency: e.TTT_WORKER_CONCURRENCY,
    jobTimeoutSec: e.TTT_JOB_TIMEOUT_SEC,
    ...(e.TTT_METRICS_TOKEN === undefined ? {} : { metricsToken: e.TTT_METRICS_TOKEN }),
    logLevel: e.LOG_LEVEL,
    media: media.options,
  };
}
