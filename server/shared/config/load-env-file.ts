import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoEnvFile = fileURLToPath(new URL('../../../.env', import.meta.url));

/**
 * Loads a `.env` file into `process.env` without overriding variables that are already set, so
 * `TTT_SHARED_SECRET=... npm start` wins over the file. `PLUCT_ENV_FILE` names another file (a second local
 * stack, tests); otherwise the repository's `.env` is used when present. Returns the file loaded, if any.
 *
 * @example
 * loadEnvFile(); // in main.ts, before the configuration is read
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env): string | null {
  const path = env['PLUCT_ENV_FILE'] ? resolve(env['PLUCT_ENV_FILE']) : repoEnvFile;
  if (!existsSync(path)) return null;
  process.loadEnvFile(path);
  return path;
}
