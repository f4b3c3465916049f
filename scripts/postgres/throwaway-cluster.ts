import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeLoopbackPort } from '../net/free-port.js';

/** A PostgreSQL cluster in a temporary folder, listening on one loopback port, removed by `stop()`. */
export interface ThrowawayCluster {
  /** The superuser URL of the `postgres` database (user `pluct`, trust authentication on loopback only). */
  readonly adminUrl: string;
  readonly port: number;
  /** The URL of database `name` on this cluster (not created: see {@link createDatabase}). */
  url(name: string): string;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown) and deletes its folder. */
  stop(): Promise<void>;
  /** Stops the server but keeps its data (to test a database lost mid-run); `resume()` starts it again. */
  pause(): Promise<void>;
  /** Starts a paused server again on the same port with the same data. */
  resume(): Promise<void>;
}

export interface ThrowawayClusterOptions {
  /** Loopback port; default: a free one. */
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

const INSTALL_HINT =
  'apt-get install -y postgresql (Debian/Ubuntu), or set PLUCT_TEST_DATABASE_URL to a server of yours';

/** Finds the directory holding initdb and pg_ctl (Debian keeps them out of PATH). */
export function findPostgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  }
  for (const dir of (process.env['PATH'] ?? '').split(':')) if (dir && existsSync(join(dir, 'initdb'))) return dir;
  throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found. Install them: ${INSTALL_HINT}`);
}

// util-linux's runuser lives in /usr/sbin (or /sbin), outside a non-root user's PATH.
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'].find((p) => existsSync(p)) ?? 'runuser';

function run(command: string, args: string[], asUser: string | undefined): Promise<void> {
  const [cmd, argv] = asUser ? [RUNUSER, ['-u', asUser, '--', command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error(
              `${cmd} not found (PATH=${process.env['PATH'] ?? ''}); ${cmd === RUNUSER ? 'runuser (util-linux) runs initdb as the postgres user when root; add /usr/sbin and /sbin to PATH' : INSTALL_HINT}`,
              { cause: error },
            )
          : error,
      ),
    );
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args[0] ?? ''} exited ${code}: ${output.trim()}`)),
    );
  });
}

/**
 * Starts a throwaway PostgreSQL cluster for tests, benchmarks and `npm run start:cluster`: `initdb` into a temp
 * folder (as the `postgres` user when run as root, since initdb refuses root), then `pg_ctl start` on a loopback
 * port with its socket in the same folder. Durability settings are off: the cluster never outlives its run.
 *
 * @example
 * const cluster = await startThrowawayCluster();
 * const url = await cluster.createDatabase('engine_test');
 * // ... ENGINE_DB=url ...
 * await cluster.stop();
 */
export async function startThrowawayCluster(options: ThrowawayClusterOptions = {}): Promise<ThrowawayCluster> {
  const bin = findPostgresBinDir();
  const port = options.port ?? (await freeLoopbackPort());
  const dir = mkdtempSync(join(tmpdir(), 'pluct-pg-'));
  const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
  // A cluster that did not come up leaves nothing behind: its folder goes with the error.
  const data = join(dir, 'data');
  let serverArgs = '';
  const start = () =>
    run(
      join(bin, 'pg_ctl'),
      ['-D', data, '-l', join(dir, 'server.log'), '-o', serverArgs, '-w', '-t', '60', 'start'],
      asUser,
    );
  try {
    if (asUser) {
      const { uid, gid } = await postgresIds();
      chownSync(dir, uid, gid);
    }
    await run(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'pluct', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
      asUser,
    );
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      unix_socket_directories: dir,
      fsync: 'off',
      full_page_writes: 'off',
      synchronous_commit: 'off',
      max_connections: '200',
      ...options.settings,
    };
    serverArgs = Object.entries(settings)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = (name: string) => `postgres://pluct@127.0.0.1:${port}/${name}`;
  let stopped = false;
  let paused = false;
  return {
    adminUrl: url('postgres'),
    port,
    url,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
        throw new Error(`database name ${JSON.stringify(name)} is not a plain identifier`);
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async pause() {
      await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], asUser);
      paused = true;
    },
    async resume() {
      await start();
      paused = false;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        if (!paused) await run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], asUser);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { execFileSync } = await import('node:child_process');
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch (cause) {
    throw new Error(`running as root needs the 'postgres' system user to run initdb. Install: ${INSTALL_HINT}`, {
      cause,
    });
  }
}
