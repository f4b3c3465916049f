/**
 * Runs a service's real entry point (`node --import tsx server/<service>/main.ts`) as a process, to see what an
 * operator sees at start-up. Every variable the service reads is set, blank meaning unset: a blank value in the
 * environment also wins over the repository's `.env` (which main.ts loads without overriding), so a developer's
 * `.env` cannot change what a test sees.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mediaEnvSchema } from '../../../server/tttranscribe/media-config.js';
import { testEngineEnv } from '../../helpers/engine-app.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceName = 'business-engine' | 'tttranscribe';

/** How a service process ended. `code` is null when it was still running after the time limit (and was killed). */
export interface ServiceExit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A complete, valid engine environment with TEST-ONLY secrets (see testEngineEnv), every other variable the
 * engine reads blank; apply overrides on top.
 *
 * @example
 * const env = await engineProcessEnv({ TTT_SHARED_SECRET: '' });
 */
export async function engineProcessEnv(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const base = await testEngineEnv({ ENGINE_PORT: '0', LOG_LEVEL: 'info' });
  const blanks = {
    TTT_SHARED_SECRET_NEXT: '',
    USER_JWT_JWKS_URL: '',
    USER_JWT_ISSUER: '',
    USER_JWT_AUDIENCE: '',
    ENGINE_SWEEP_INTERVAL_SEC: '',
  };
  return { ...blanks, ...(base as Record<string, string>), ...overrides };
}

/**
 * A complete TTTranscribe environment (no speech engine, an unreachable JWKS URL, in-memory DB) with every
 * media variable blank; the shared secret is blank unless given.
 *
 * @example
 * const env = tttProcessEnv({ TTT_SHARED_SECRET: generateSharedSecret() });
 */
export function tttProcessEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const media = Object.fromEntries(Object.keys(mediaEnvSchema.shape).map((name) => [name, '']));
  return {
    ...media,
    TTT_SHARED_SECRET: '',
    TTT_SHARED_SECRET_NEXT: '',
    TTT_HOST: '127.0.0.1',
    TTT_PORT: '0',
    TTT_DB: ':memory:',
    TTT_SERVICE_TOKEN_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    TTT_SERVICE_TOKEN_JWKS_FILE: '',
    TTT_ALLOWED_MEDIA_HOSTS: '',
    TTT_WORKER_CONCURRENCY: '',
    TTT_JOB_TIMEOUT_SEC: '',
    TTT_TRANSCRIBER: 'none',
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

/**
 * Starts a service's main.ts with exactly `env` (plus PATH) and resolves when it exits. A service that starts
 * after all is killed after `timeoutMs` and reported with `code: null`, so a test expecting a refusal fails
 * instead of hanging.
 *
 * @example
 * const exit = await runServiceMain('business-engine', await engineProcessEnv({ TTT_SHARED_SECRET: '' }));
 * expect(exit.code).toBe(1);
 */
export function runServiceMain(
  service: ServiceName,
  env: Record<string, string>,
  options: { timeoutMs?: number } = {},
): Promise<ServiceExit> {
  const child = spawn(process.execPath, ['--import', 'tsx', `server/${service}/main.ts`], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 20_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: killed ? null : code, stdout, stderr });
    });
  });
}
