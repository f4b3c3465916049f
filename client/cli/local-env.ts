import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import type { Io, OptionSpec, Values } from './command.js';

/** The `--env-file` option every command that reads local settings takes. */
export const ENV_FILE_OPTION: OptionSpec = {
  type: 'string',
  value: 'PATH',
  description:
    'The .env to read local secrets from (default: $PLUCT_ENV_FILE, else ./.env). Environment variables win.',
};

/** Where a variable's value came from (so `doctor` can say "your .env" or "your environment"). */
export type Source = 'environment' | 'env-file';

/** Local settings: the process environment over the .env file (same precedence as the services). */
export interface LocalEnv {
  /** The .env path that was looked for. */
  readonly path: string;
  readonly fileFound: boolean;
  get(name: string): string | undefined;
  source(name: string): Source | undefined;
}

/**
 * Reads the local .env (when present) under the environment: a variable set in the environment wins.
 * Never prints or returns the file as a whole; callers ask for single variables.
 *
 * @example
 * const local = loadLocalEnv(values, io);
 * const secret = local.get('TTT_SHARED_SECRET');
 */
export function loadLocalEnv(values: Values, io: Io): LocalEnv {
  const chosen = typeof values['env-file'] === 'string' ? values['env-file'] : io.env['PLUCT_ENV_FILE'] || '.env';
  const path = isAbsolute(chosen) ? chosen : resolve(io.cwd, chosen);
  const fileFound = existsSync(path);
  const file: Record<string, string> = fileFound
    ? (parseEnv(readFileSync(path, 'utf8')) as Record<string, string>)
    : {};
  const fromEnv = (name: string) => {
    const v = io.env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const fromFile = (name: string) => {
    const v = file[name];
    return v === undefined || v === '' ? undefined : v;
  };
  return {
    path,
    fileFound,
    get: (name) => fromEnv(name) ?? fromFile(name),
    source: (name) =>
      fromEnv(name) !== undefined ? 'environment' : fromFile(name) !== undefined ? 'env-file' : undefined,
  };
}

/** Where the engine and TTTranscribe are by default: the local stack of `npm start`. */
export const DEFAULT_ENGINE_URL = 'http://127.0.0.1:8787';
export const DEFAULT_TTT_URL = 'http://127.0.0.1:8788';

/** The `--engine` option. */
export const ENGINE_OPTION: OptionSpec = {
  type: 'string',
  value: 'URL',
  description: `The Business Engine (default: $PLUCT_ENGINE_URL, else 127.0.0.1 on $ENGINE_PORT, else ${DEFAULT_ENGINE_URL}).`,
};

/**
 * The engine URL: `--engine`, else `PLUCT_ENGINE_URL`, else the local stack on `ENGINE_PORT` (the variable
 * `ENGINE_PORT=9000 npm start` listens on), else the local stack's default port.
 *
 * @example
 * const engine = engineUrl(values, io); // 'http://127.0.0.1:8787'
 */
export function engineUrl(values: Values, io: Io): string {
  const chosen =
    typeof values['engine'] === 'string'
      ? values['engine']
      : io.env['PLUCT_ENGINE_URL'] || localUrl(io.env['ENGINE_PORT'], DEFAULT_ENGINE_URL);
  return chosen.replace(/\/+$/, '');
}

/**
 * The TTTranscribe URL `pluct doctor` checks: `PLUCT_TTT_URL`, else the local stack on `TTT_PORT`, else its default.
 *
 * @example
 * tttUrl(process.env); // 'http://127.0.0.1:8788'
 */
export function tttUrl(env: Readonly<Record<string, string | undefined>>): string {
  return (env['PLUCT_TTT_URL'] || localUrl(env['TTT_PORT'], DEFAULT_TTT_URL)).replace(/\/+$/, '');
}

function localUrl(port: string | undefined, fallback: string): string {
  return port && /^\d{1,5}$/.test(port.trim()) ? `http://127.0.0.1:${port.trim()}` : fallback;
}
