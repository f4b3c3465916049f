import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../net/free-port.js';
import { service } from '../service-registry.js';
import { startChildService, type ChildService } from '../stack/child-service.js';
import { startHaproxy, type RunningHaproxy } from './haproxy.js';

/** The entry points a cluster runs, relative to the repository root. */
export const ENTRY = {
  engine: service('business-engine').entry,
  ttt: service('tttranscribe').entry,
  worker: 'server/tttranscribe/worker-main.ts',
} as const;

export type ReplicaRole = 'engine' | 'ttt' | 'worker';

/** One process of the cluster. */
export interface Replica {
  readonly role: ReplicaRole;
  /** Also its INSTANCE_ID: engine-1, ttt-2, worker-1... */
  readonly name: string;
  /** Its own URL (not through the load balancer); undefined for workers. */
  readonly url: string | undefined;
  readonly service: ChildService;
  /** Its last output lines. */
  output(): string;
}

export interface ClusterOptions {
  /** The repository root (the entry points' base). */
  readonly root: string;
  readonly engines: number;
  readonly ttts: number;
  readonly workers: number;
  /**
   * Where the services keep their state: PostgreSQL URLs shared by every replica, or one SQLite file per
   * process in `dir` (no sharing: only for what works without shared state, e.g. instance ids and doctor).
   */
  readonly database:
    | { readonly kind: 'postgres'; readonly engineUrl: string; readonly tttUrl: string }
    | { readonly kind: 'sqlite-per-replica'; readonly dir: string };
  /** Environment of every process (secrets, limits, transcriber...); the cluster adds ports, URLs, DBs, INSTANCE_ID. */
  readonly env: Readonly<Record<string, string>>;
  /** Per-process overrides, applied last (e.g. one replica on another secret). */
  readonly envFor?: (replica: {
    role: ReplicaRole;
    index: number;
    name: string;
  }) => Readonly<Record<string, string>> | undefined;
  /** Frontend ports; default free ones. */
  readonly enginePort?: number;
  readonly tttPort?: number;
  /** Every output line of every process, with the process's name (default: kept for error messages, not printed). */
  readonly write?: (line: string, name: string) => void;
  readonly readyTimeoutMs?: number;
}

/** A running cluster: HAProxy in front of the engine and TTTranscribe replicas, plus the workers. */
export interface Cluster {
  /** The engine's load-balanced URL. */
  readonly engineUrl: string;
  /** TTTranscribe's load-balanced URL (what the engines use as TTT_BASE_URL). */
  readonly tttUrl: string;
  readonly engines: readonly Replica[];
  readonly ttts: readonly Replica[];
  readonly workers: readonly Replica[];
  readonly haproxy: RunningHaproxy;
  /** Resolves when any process exits unexpectedly (not through stop()), naming it. */
  readonly died: Promise<string>;
  /** SIGTERM to every process (SIGKILL after `graceMs`), then HAProxy; removes the temp folder. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const KEEP_LINES = 300;

/**
 * Starts the multi-replica topology on loopback: HAProxy (round-robin, health checks on /health) in front of
 * `engines` Business Engine and `ttts` TTTranscribe API processes, and `workers` TTTranscribe worker processes,
 * all from their real entry points. Engines reach TTTranscribe through its frontend; TTTranscribe fetches the
 * engine's JWKS through the engine's. API replicas run with TTT_RUN_WORKER=false. Returns once every API replica
 * answers /health directly and the load balancer has routed to each of them. Used by the multi-replica test,
 * `npm run start:cluster` and the cluster bench.
 *
 * @throws Error naming the process and quoting its last lines when one exits or is not ready in time.
 * @example
 * const cluster = await startCluster({ root, engines: 2, ttts: 2, workers: 2,
 *   database: { kind: 'postgres', engineUrl, tttUrl }, env: { ...secrets, PLUCT_ENV_FILE: '/nonexistent' } });
 * await fetch(`${cluster.engineUrl}/health`);
 * await cluster.stop();
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  for (const [n, what] of [
    [options.engines, 'engines'],
    [options.ttts, 'ttts'],
    [options.workers, 'workers'],
  ] as const) {
    if (!Number.isInteger(n) || n < 0 || n > 32)
      throw new Error(`${what} must be a whole number from 0 to 32; got ${n}`);
  }
  if (options.engines < 1 || options.ttts < 1)
    throw new Error('a cluster needs at least one engine and one TTTranscribe replica');
  const dir = mkdtempSync(join(tmpdir(), 'pluct-cluster-'));
  const enginePort = options.enginePort ?? (await freeLoopbackPort());
  const tttPort = options.tttPort ?? (await freeLoopbackPort());
  const engineUrl = `http://127.0.0.1:${enginePort}`;
  const tttUrl = `http://127.0.0.1:${tttPort}`;
  const plan = async (role: ReplicaRole, count: number) => {
    const out: Array<{ role: ReplicaRole; index: number; name: string; port: number | undefined }> = [];
    for (let index = 1; index <= count; index++)
      out.push({
        role,
        index,
        name: `${role}-${index}`,
        port: role === 'worker' ? undefined : await freeLoopbackPort(),
      });
    return out;
  };
  const planned = [
    ...(await plan('engine', options.engines)),
    ...(await plan('ttt', options.ttts)),
    ...(await plan('worker', options.workers)),
  ];

  const haproxy = await startHaproxy(
    [
      {
        name: 'engine',
        port: enginePort,
        backends: planned.filter((p) => p.role === 'engine').map((p) => ({ name: p.name, port: p.port as number })),
      },
      {
        name: 'ttt',
        port: tttPort,
        backends: planned.filter((p) => p.role === 'ttt').map((p) => ({ name: p.name, port: p.port as number })),
      },
    ],
    dir,
  );

  const db = options.database;
  const envOf = (p: (typeof planned)[number]): Record<string, string> => {
    const base: Record<string, string> = {
      PLUCT_ENV_FILE: join(dir, 'no-such.env'), // never the repository's .env, unless the caller names one
      ...options.env,
      INSTANCE_ID: p.name,
      TTT_BASE_URL: tttUrl,
      // TTTranscribe fetches the engine's keys through its load balancer, unless the caller gave it a JWKS file.
      ...(options.env['TTT_SERVICE_TOKEN_JWKS_FILE']
        ? {}
        : { TTT_SERVICE_TOKEN_JWKS_URL: `${engineUrl}/.well-known/jwks.json` }),
      ENGINE_DB: db.kind === 'postgres' ? db.engineUrl : join(db.dir, `${p.name}.engine.db`),
      TTT_DB: db.kind === 'postgres' ? db.tttUrl : join(db.dir, `${p.role === 'worker' ? 'ttt-1' : p.name}.ttt.db`),
    };
    // HAProxy on loopback sends X-Forwarded-For: rate limits count each client, not the proxy's one address.
    if (p.role === 'engine')
      Object.assign(base, { ENGINE_HOST: '127.0.0.1', ENGINE_PORT: String(p.port), ENGINE_TRUST_PROXY: 'loopback' });
    if (p.role === 'ttt')
      Object.assign(base, {
        TTT_HOST: '127.0.0.1',
        TTT_PORT: String(p.port),
        TTT_RUN_WORKER: 'false',
        TTT_TRUST_PROXY: 'loopback',
      });
    return { ...base, ...options.envFor?.(p) };
  };

  let stopping = false;
  let reportDeath: (name: string) => void = () => {};
  const died = new Promise<string>((resolve) => (reportDeath = resolve));
  const replicas: Replica[] = planned.map((p) => {
    const lines: string[] = [];
    const write = (line: string) => {
      lines.push(line);
      if (lines.length > KEEP_LINES) lines.splice(0, lines.length - KEEP_LINES);
      options.write?.(line, p.name);
    };
    const service = startChildService(p.name, ENTRY[p.role], {
      cwd: options.root,
      env: { ...processEnvBase(), ...envOf(p) },
      write,
    });
    void service.exited.then(({ code, signal }) => {
      if (!stopping) reportDeath(`${p.name} ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
    });
    return {
      role: p.role,
      name: p.name,
      url: p.port === undefined ? undefined : `http://127.0.0.1:${p.port}`,
      service,
      output: () => lines.join('\n'),
    };
  });

  let stopped: Promise<void> | undefined;
  const stop = (graceMs = 10_000) => {
    stopping = true;
    stopped ??= (async () => {
      await Promise.all(replicas.map((r) => r.service.stop(graceMs)));
      await haproxy.stop();
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const cluster: Cluster = {
    engineUrl,
    tttUrl,
    haproxy,
    died,
    stop,
    engines: replicas.filter((r) => r.role === 'engine'),
    ttts: replicas.filter((r) => r.role === 'ttt'),
    workers: replicas.filter((r) => r.role === 'worker'),
  };
  try {
    await waitUntilReady(cluster, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop(2_000);
    throw error;
  }
  return cluster;
}

// Only what a child needs to run node and find its tools; never the caller's service variables.
function processEnvBase(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_OPTIONS'];
  return Object.fromEntries(
    keep.flatMap((k) => {
      const value = process.env[k];
      return value === undefined ? [] : [[k, value]];
    }),
  );
}

async function waitUntilReady(cluster: Cluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const all = [...cluster.engines, ...cluster.ttts, ...cluster.workers];
  const failIfExited = () => {
    const gone = all.find((r) => r.service.hasExited());
    if (gone)
      throw new Error(
        `${gone.name} exited at start. Its last lines:\n${gone.output().split('\n').slice(-15).join('\n')}`,
      );
  };
  for (const replica of [...cluster.engines, ...cluster.ttts]) {
    while (!(await answers(`${replica.url}/health`))) {
      failIfExited();
      if (Date.now() > deadline)
        throw new Error(
          `${replica.name} did not answer /health within ${timeoutMs} ms. Its last lines:\n${replica.output().split('\n').slice(-15).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  // Through the load balancer: every replica in rotation (its health check has passed).
  for (const [url, replicas] of [
    [cluster.engineUrl, cluster.engines],
    [cluster.tttUrl, cluster.ttts],
  ] as const) {
    const seen = new Set<string>();
    while (seen.size < replicas.length) {
      failIfExited();
      if (Date.now() > deadline)
        throw new Error(
          `the load balancer at ${url} routed only to ${[...seen].join(', ') || 'no replica'} within ${timeoutMs} ms. HAProxy: ${cluster.haproxy.output()}`,
        );
      const id = await instanceAt(`${url}/health`);
      if (id) seen.add(id);
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  failIfExited();
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function instanceAt(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok ? (response.headers.get('x-instance-id') ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}
