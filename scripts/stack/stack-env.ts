import { isAbsolute, join, resolve } from 'node:path';
import { SERVICES, type ServiceId } from '../service-registry.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Where the stack keeps its settings and data, from PLUCT_ENV_FILE / PLUCT_DATA_DIR or the repository defaults. */
export interface StackPaths {
  readonly root: string;
  readonly envFile: string;
  readonly dataDir: string;
  /** DB paths written into a new .env: relative for the default data dir, absolute otherwise. */
  readonly engineDb: string;
  readonly tttDb: string;
  readonly docsDir: string;
}

/**
 * Resolves the stack's paths. `PLUCT_ENV_FILE` and `PLUCT_DATA_DIR` exist so tests (and a second stack) can
 * use their own files.
 *
 * @example
 * const paths = stackPaths(repoRoot, process.env); // { envFile: '/repo/.env', dataDir: '/repo/data', ... }
 */
export function stackPaths(root: string, env: Env): StackPaths {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(root, p));
  const customData = env['PLUCT_DATA_DIR'];
  const dataDir = at(customData || 'data');
  return {
    root,
    envFile: at(env['PLUCT_ENV_FILE'] || '.env'),
    dataDir,
    engineDb: customData ? join(dataDir, 'business-engine.db') : './data/business-engine.db',
    tttDb: customData ? join(dataDir, 'tttranscribe.db') : './data/tttranscribe.db',
    docsDir: join(root, 'docs-dist'),
  };
}

/** The environment both services get, and the URLs the stack prints. */
export interface StackEnv {
  readonly env: Record<string, string>;
  /** Where each registered service listens. */
  readonly urls: Readonly<Record<ServiceId, string>>;
  readonly engineUrl: string;
  readonly tttUrl: string;
}

/**
 * Merges the layers: derived defaults < .env < the process environment (so `ENGINE_PORT=9000 npm start` wins).
 * The defaults wire the two services to each other on whatever ports are chosen: TTT_BASE_URL for the engine,
 * the engine's JWKS URL for TTTranscribe, and an absolute DOCS_DIR.
 *
 * @example
 * const { env, engineUrl } = stackEnv(paths, envFileValues, process.env);
 */
export function stackEnv(paths: StackPaths, fileValues: Readonly<Record<string, string>>, processEnv: Env): StackEnv {
  const layered: Record<string, string> = {};
  for (const layer of [fileValues, processEnv]) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) layered[k] = v;
  }
  const pick = (name: string, fallback: string) =>
    layered[name] !== undefined && layered[name] !== '' ? layered[name] : fallback;
  const urlHost = (host: string) =>
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const urls = Object.fromEntries(
    SERVICES.map(({ id, listen }) => [
      id,
      `http://${urlHost(pick(listen.hostEnv, '127.0.0.1'))}:${pick(listen.portEnv, String(listen.defaultPort))}`,
    ]),
  ) as Record<ServiceId, string>;
  const engineUrl = urls['business-engine'];
  const tttUrl = urls['tttranscribe'];
  const derived: Record<string, string> = {
    ENGINE_DB: paths.engineDb,
    TTT_DB: paths.tttDb,
    TTT_BASE_URL: tttUrl,
    DOCS_DIR: paths.docsDir,
  };
  if (!layered['TTT_SERVICE_TOKEN_JWKS_FILE'])
    derived['TTT_SERVICE_TOKEN_JWKS_URL'] = `${engineUrl}/.well-known/jwks.json`;
  const env: Record<string, string> = { ...derived };
  for (const [k, v] of Object.entries(layered)) if (v !== '' || !(k in derived)) env[k] = v;
  return { env, urls, engineUrl, tttUrl };
}
