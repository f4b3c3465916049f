/**
 * `npm run start:cluster`: the multi-replica topology on this machine, no Docker. A throwaway PostgreSQL (or the
 * server at CLUSTER_DATABASE_URL), HAProxy in front of N Business Engine and N TTTranscribe API replicas, and N
 * TTTranscribe workers, with the secrets of `npm start` (the same .env, created when missing). Prints the URLs;
 * Ctrl-C stops everything (and removes the throwaway database). If a process dies, everything stops, exit 1.
 *
 * Flags: --engines N (2), --ttts N (2), --workers N (2). ENGINE_PORT / TTT_PORT choose the load balancer's ports
 * (default 8787 / 8788, as `npm start`, so the CLI works unchanged). CLUSTER_DATABASE_URL: a PostgreSQL server
 * URL whose user may create databases; pluct_engine and pluct_ttt are created there when missing and kept.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startCluster, type Cluster } from './cluster/cluster.js';
import { startThrowawayCluster, type ThrowawayCluster } from './postgres/throwaway-cluster.js';
import { ensureEnvFile } from './stack/dev-env.js';
import { stackPaths } from './stack/stack-env.js';
import { service } from './service-registry.js';
import { redactDatabaseUrl } from '../server/shared/db/postgres-url.js';

const ENGINE = service('business-engine').listen;
const TTT = service('tttranscribe').listen;

const root = fileURLToPath(new URL('..', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);
// A function declaration (not an arrow), so that TypeScript narrows after a call to it: it never returns.
function fail(line: string): never {
  process.stderr.write(`npm run start:cluster: ${line}\n`);
  process.exit(1);
}

const { values: flags } = parseArgs({
  options: {
    engines: { type: 'string', default: '2' },
    ttts: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
  },
  strict: true,
});
const count = (name: 'engines' | 'ttts' | 'workers', min: number) => {
  const n = Number(flags[name]);
  if (!/^\d+$/.test(flags[name]) || n < min || n > 16)
    fail(`--${name} must be a whole number from ${min} to 16; got ${flags[name]}`);
  return n;
};
const engines = count('engines', 1);
const ttts = count('ttts', 1);
const workers = count('workers', 0);

const paths = stackPaths(root, process.env);
const envState = await ensureEnvFile(paths.envFile, { engineDb: paths.engineDb, tttDb: paths.tttDb });
if (envState.created) say(`Created ${paths.envFile} with fresh secrets (mode 0600).`);
const env: Record<string, string> = {};
for (const layer of [envState.values, process.env]) {
  for (const [k, v] of Object.entries(layer))
    if (v !== undefined && v !== '' && !/^(ENGINE|TTT)_(DB|PORT|HOST)$/.test(k) && k !== 'INSTANCE_ID') env[k] = v;
}
env['PLUCT_ENV_FILE'] = paths.envFile;
env['DOCS_DIR'] ??= paths.docsDir;

let throwaway: ThrowawayCluster | undefined;
let databases: { engineUrl: string; tttUrl: string };
const given = process.env['CLUSTER_DATABASE_URL'];
try {
  if (given) {
    databases = {
      engineUrl: await ensureDatabase(given, 'pluct_engine'),
      tttUrl: await ensureDatabase(given, 'pluct_ttt'),
    };
  } else {
    say('Starting a throwaway PostgreSQL (removed on Ctrl-C)...');
    throwaway = await startThrowawayCluster();
    databases = {
      engineUrl: await throwaway.createDatabase('pluct_engine'),
      tttUrl: await throwaway.createDatabase('pluct_ttt'),
    };
  }
} catch (error) {
  await throwaway?.stop();
  fail(`no database: ${(error as Error).message}`);
}

const port = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
let cluster: Cluster;
try {
  cluster = await startCluster({
    root,
    engines,
    ttts,
    workers,
    database: { kind: 'postgres', ...databases },
    env,
    enginePort: port(ENGINE.portEnv, ENGINE.defaultPort),
    tttPort: port(TTT.portEnv, TTT.defaultPort),
    write: (line, name) => say(line.startsWith('{') ? line : `[${name}] ${line}`),
  });
} catch (error) {
  await throwaway?.stop();
  fail((error as Error).message);
}

let stopping = false;
async function stopAll(code: number, reason: string): Promise<never> {
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  say(reason);
  await cluster.stop();
  await throwaway?.stop();
  say('Everything stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0, 'Stopping the cluster...'));
process.on('SIGTERM', () => void stopAll(0, 'SIGTERM: stopping the cluster...'));
void cluster.died.then((what) => stopAll(1, `${what} (its output is above); stopping the cluster.`));

say(
  [
    '',
    `Pluct cluster is up (settings: ${paths.envFile}).`,
    `  Business Engine (HAProxy)   ${cluster.engineUrl}   -> ${cluster.engines.map((r) => `${r.name} ${r.url}`).join(', ')}`,
    `  TTTranscribe (HAProxy)      ${cluster.tttUrl}   -> ${cluster.ttts.map((r) => `${r.name} ${r.url}`).join(', ')}`,
    `  Workers                     ${cluster.workers.map((r) => r.name).join(', ') || 'none (jobs stay queued)'}`,
    `  Engine database             ${redactDatabaseUrl(databases.engineUrl)}${throwaway ? ' (throwaway)' : ''}`,
    `  TTTranscribe database       ${redactDatabaseUrl(databases.tttUrl)}${throwaway ? ' (throwaway)' : ''}`,
    '  Next:',
    ...(cluster.engineUrl === `http://127.0.0.1:${ENGINE.defaultPort}`
      ? []
      : [`    export PLUCT_ENGINE_URL=${cluster.engineUrl}`]),
    ...(cluster.tttUrl === `http://127.0.0.1:${TTT.defaultPort}` ? [] : [`    export PLUCT_TTT_URL=${cluster.tttUrl}`]),
    "    npx pluct doctor          # also compares the replicas' key ids",
    '  Ctrl-C stops everything.',
    '',
  ].join('\n'),
);

/** Creates database `name` on the server of `serverUrl` when missing; returns its URL. */
async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
