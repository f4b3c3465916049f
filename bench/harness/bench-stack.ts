import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { service } from '../../scripts/service-registry.js';
import type { BenchCredentials } from './bench-credentials.js';
import { freePort, REPO_ROOT, startServer, type ServerProcess } from './server-process.js';

export const TTT_MAIN = service('tttranscribe').entry;
export const ENGINE_MAIN = service('business-engine').entry;

/** Rate limits high enough never to trigger during a bench (the limiter's own cost is still measured). */
const UNLIMITED_PER_MIN = '100000000';
/**
 * The credit sweep polls up to 500 submitted jobs at once every interval; in a bench that burst would land in a
 * random window, so it is pushed past the end of the run (it is a background job, not a request path).
 */
const SWEEP_OUT_OF_THE_WAY_SEC = '86400';

/** A scratch folder for one run: SQLite files and the public JWKS; removed by `dispose`. */
export interface BenchWorkspace {
  readonly dir: string;
  readonly jwksFile: string;
  dispose(): void;
}

/**
 * Creates the run's scratch folder under the OS temp dir and writes the public JWKS TTTranscribe reads.
 *
 * @example
 * const ws = createWorkspace(creds);
 * try { … } finally { ws.dispose(); }
 */
export function createWorkspace(creds: BenchCredentials): BenchWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'pluct-bench-'));
  const jwksFile = join(dir, 'service-token-jwks.json');
  writeFileSync(jwksFile, JSON.stringify(creds.serviceJwks));
  return { dir, jwksFile, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface ServiceStartOptions {
  readonly name?: string;
  readonly dbPath: string;
  readonly logLevel: string;
  readonly cpuProfileDir?: string;
}

/**
 * Starts the real TTTranscribe (`server/tttranscribe/main.ts`) as its own process with TTT_TRANSCRIBER=none (no
 * media work: queued jobs fail at once in the worker), service tokens verified against the bench's JWKS file.
 *
 * @example
 * const ttt = await startTttProcess(creds, ws, { dbPath: join(ws.dir, 'ttt.db'), logLevel: 'info' });
 */
export async function startTttProcess(
  creds: BenchCredentials,
  ws: BenchWorkspace,
  options: ServiceStartOptions,
): Promise<ServerProcess> {
  const port = await freePort();
  return startServer({
    name: options.name ?? 'tttranscribe',
    entry: TTT_MAIN,
    ready: { port, healthPath: '/health' },
    ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
    env: {
      TTT_HOST: '127.0.0.1',
      TTT_PORT: String(port),
      TTT_DB: options.dbPath,
      TTT_SHARED_SECRET: creds.sharedSecret,
      TTT_SERVICE_TOKEN_JWKS_FILE: ws.jwksFile,
      TTT_TRANSCRIBER: 'none',
      TTT_RATE_LIMIT_ENGINE_PER_MIN: UNLIMITED_PER_MIN,
      LOG_LEVEL: options.logLevel,
    },
  });
}

/**
 * Starts the real Business Engine (`server/business-engine/main.ts`) as its own process, in front of `tttUrl`
 * (which may be a port nobody listens on, for the circuit-open scenario).
 *
 * @example
 * const engine = await startEngineProcess(creds, { dbPath, logLevel: 'info', tttUrl: ttt.url });
 */
export async function startEngineProcess(
  creds: BenchCredentials,
  options: ServiceStartOptions & { readonly tttUrl: string },
): Promise<ServerProcess> {
  const port = await freePort();
  return startServer({
    name: options.name ?? 'business-engine',
    entry: ENGINE_MAIN,
    ready: { port, healthPath: '/health' },
    ...(options.cpuProfileDir ? { cpuProfileDir: options.cpuProfileDir } : {}),
    env: {
      ENGINE_HOST: '127.0.0.1',
      ENGINE_PORT: String(port),
      ENGINE_DB: options.dbPath,
      USER_JWT_SECRET: creds.userJwtSecret,
      TTT_BASE_URL: options.tttUrl,
      TTT_SHARED_SECRET: creds.sharedSecret,
      SERVICE_TOKEN_PRIVATE_KEY: creds.servicePrivateJwkJson,
      ADMIN_TOKEN: creds.adminToken,
      RATE_LIMIT_VEND_PER_MIN: UNLIMITED_PER_MIN,
      RATE_LIMIT_TRANSCRIBE_PER_MIN: UNLIMITED_PER_MIN,
      RATE_LIMIT_READ_PER_MIN: UNLIMITED_PER_MIN,
      RATE_LIMIT_INTEGRATIONS_PER_MIN: UNLIMITED_PER_MIN,
      RATE_LIMIT_ADMIN_PER_MIN: UNLIMITED_PER_MIN,
      RATE_LIMIT_HEALTH_PER_MIN: UNLIMITED_PER_MIN,
      ENGINE_SWEEP_INTERVAL_SEC: SWEEP_OUT_OF_THE_WAY_SEC,
      LOG_LEVEL: options.logLevel,
    },
  });
}

/** Whether a service's entry point exists yet (its scenarios are skipped, with a note, until it does). */
export function serviceExists(entry: string): boolean {
  return existsSync(resolve(REPO_ROOT, entry));
}
