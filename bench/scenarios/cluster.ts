import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startCluster } from '../../scripts/cluster/cluster.js';
import { startThrowawayCluster, type ThrowawayCluster } from '../../scripts/postgres/throwaway-cluster.js';
import type { BenchContext } from '../harness/bench-context.js';
import { createBenchCredentials, type BenchCredentials } from '../harness/bench-credentials.js';
import { createWorkspace, startEngineProcess, startTttProcess } from '../harness/bench-stack.js';
import type { LoadOutcome } from '../harness/closed-load.js';
import { EngineUsers } from '../harness/engine-users.js';
import { LatencyRecorder } from '../harness/latency-recorder.js';
import { REPO_ROOT, type ServerProcess } from '../harness/server-process.js';
import { suppliedArm } from '../harness/supplied-measure.js';
import { MEASUREMENT_IDS } from '../harness/targets.js';
import { gatewaySupply } from './gateway-supply.js';

/** Seconds the stand-in speech program takes per job: the fixed-duration engine of the jobs-per-minute rows. */
const JOB_SEC = 1;

/**
 * PostgreSQL against SQLite, and workers (issue 19 item 7). Side by side in one run: POST /v1/vend-token and the
 * gateway's POST /ttt/transcribe on an engine and TTTranscribe using SQLite files, interleaved with the same on
 * a throwaway PostgreSQL on this machine (sharing its cores, as the target demands); then jobs per minute with 1
 * and 2 TTTranscribe workers (scripts/cluster, HAProxy in front) on a speech program that takes JOB_SEC seconds.
 *
 * @example
 * await runCluster(ctx); // npm run bench -- --only=cluster --window=2
 */
export async function runCluster(ctx: BenchContext): Promise<void> {
  const creds = await createBenchCredentials();
  const ws = createWorkspace(creds);
  const servers: ServerProcess[] = [];
  let database: ThrowawayCluster | undefined;
  try {
    database = await startThrowawayCluster();
    const { connections, rounds, logLevel } = ctx.settings;
    const [engineDb, tttDb] = [
      await database.createDatabase('bench_engine'),
      await database.createDatabase('bench_ttt'),
    ];
    const start = async (kind: 'sqlite' | 'postgres', dbs: { engine: string; ttt: string }) => {
      const ttt = await startTttProcess(creds, ws, { name: `tttranscribe-${kind}`, dbPath: dbs.ttt, logLevel });
      servers.push(ttt);
      const engine = await startEngineProcess(creds, {
        name: `business-engine-${kind}`,
        dbPath: dbs.engine,
        logLevel,
        tttUrl: ttt.url,
      });
      servers.push(engine);
      return { ttt, engine, users: await EngineUsers.create(creds, engine.url) };
    };
    const lite = await start('sqlite', { engine: join(ws.dir, 'engine.db'), ttt: join(ws.dir, 'ttt.db') });
    const post = await start('postgres', { engine: engineDb, ttt: tttDb });
    await post.users.vendTokens(1);
    const vendArm = (kind: string, id: string, s: typeof lite) =>
      suppliedArm(ctx, {
        id,
        title: `vend-token on ${kind}`,
        group: 'cluster',
        request: 'POST /v1/vend-token',
        connections,
        servers: [s.engine],
        origin: s.engine.url,
        expectStatus: [200],
        guessRps: 800,
        build: (n) => s.users.vendSupply(n),
      });
    await ctx.measureInterleaved(
      [vendArm('SQLite', MEASUREMENT_IDS.vendSqlite, lite), vendArm('PostgreSQL', MEASUREMENT_IDS.vendPostgres, post)],
      rounds,
    );
    const submitArm = (kind: string, id: string, s: typeof lite) =>
      suppliedArm(ctx, {
        id,
        title: `gateway submission on ${kind}`,
        group: 'cluster',
        request: 'POST /ttt/transcribe',
        connections,
        servers: [s.engine, s.ttt],
        origin: s.engine.url,
        expectStatus: [202],
        guessRps: 400,
        build: async (n) => gatewaySupply(await s.users.vendTokens(n)),
        maxSupply: 20_000,
      });
    await ctx.measureInterleaved(
      [
        submitArm('SQLite', MEASUREMENT_IDS.submitSqlite, lite),
        submitArm('PostgreSQL', MEASUREMENT_IDS.submitPostgres, post),
      ],
      rounds,
    );
    await Promise.all(servers.splice(0).map((s) => s.stop()));

    await measureWorkers(ctx, creds, database, ws.dir);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await database?.stop();
    ws.dispose();
  }
}

/** Jobs per minute with 1, then 2 workers: submit a batch through the gateway and time until the queue is empty. */
async function measureWorkers(
  ctx: BenchContext,
  creds: BenchCredentials,
  database: ThrowawayCluster,
  dir: string,
): Promise<void> {
  const program = join(dir, 'fixed-speech.sh');
  writeFileSync(program, `#!/bin/sh\nsleep ${JOB_SEC}\necho "a fixed duration transcript"\n`);
  chmodSync(program, 0o755);
  const clip = join(dir, 'tone.mp3');
  const made = spawnSync('ffmpeg', [
    '-v',
    'error',
    '-nostdin',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=1',
    '-c:a',
    'libmp3lame',
    clip,
  ]);
  if (made.status !== 0) {
    ctx.note(
      `cluster: ffmpeg could not make the test clip (${made.error?.message ?? made.stderr.toString().trim()}); jobs per minute not measured.`,
    );
    return;
  }
  const media = await serveFile(readFileSync(clip));
  const jobs = Math.max(8, Math.round(ctx.settings.windowSec * 4));
  const perMinute: number[] = [];
  try {
    for (const workers of [1, 2]) {
      const dbs = {
        engineUrl: await database.createDatabase(`bench_jobs_engine_${workers}`),
        tttUrl: await database.createDatabase(`bench_jobs_ttt_${workers}`),
      };
      const cluster = await startCluster({
        root: REPO_ROOT,
        engines: 1,
        ttts: 1,
        workers,
        database: { kind: 'postgres', ...dbs },
        env: {
          TTT_SHARED_SECRET: creds.sharedSecret,
          USER_JWT_SECRET: creds.userJwtSecret,
          SERVICE_TOKEN_PRIVATE_KEY: creds.servicePrivateJwkJson,
          ADMIN_TOKEN: creds.adminToken,
          RATE_LIMIT_VEND_PER_MIN: '100000000',
          RATE_LIMIT_TRANSCRIBE_PER_MIN: '100000000',
          TTT_TRANSCRIBER: 'command',
          TTT_TRANSCRIBER_COMMAND: `${program} {wav}`,
          TTT_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8',
          TTT_WORKER_CONCURRENCY: '1',
          LOG_LEVEL: 'warn',
        },
      });
      try {
        const users = await EngineUsers.create(creds, cluster.engineUrl, 5);
        const tokens = await users.vendTokens(jobs);
        const id = workers === 1 ? MEASUREMENT_IDS.jobsOneWorker : MEASUREMENT_IDS.jobsTwoWorkers;
        let outcome: LoadOutcome | undefined;
        await ctx.measure({
          id,
          title: `jobs with ${workers} worker${workers === 1 ? '' : 's'} (${JOB_SEC} s engine; req/s = jobs/s)`,
          group: 'cluster',
          request: 'POST /ttt/transcribe → done',
          connections: jobs,
          servers: cluster.workers.map((w) => ({ name: w.name, pid: w.service.child.pid ?? 0 })),
          params: { workers, jobs, jobSec: JOB_SEC },
          load: async () => (outcome = await drain(cluster.engineUrl, cluster.tttUrl, tokens, media.url)),
        });
        // From the exact counts: the measurement's req/s column is rounded to whole jobs per second.
        perMinute.push(outcome ? Math.round((outcome.completed / outcome.elapsedSec) * 60 * 10) / 10 : 0);
      } finally {
        await cluster.stop();
      }
    }
    ctx.note(
      `cluster: jobs per minute on a ${JOB_SEC} s engine: 1 worker ${perMinute[0]}, 2 workers ${perMinute[1]} (x${Math.round(((perMinute[1] ?? 0) / (perMinute[0] ?? 1)) * 100) / 100}).`,
    );
  } finally {
    media.server.close();
  }
}

/** Submits one job per token at once, then polls TTTranscribe's /health until its queue is empty. */
async function drain(
  engineUrl: string,
  tttUrl: string,
  tokens: readonly string[],
  mediaUrl: string,
): Promise<LoadOutcome> {
  const statuses: Record<string, number> = {};
  const started = performance.now();
  await Promise.all(
    tokens.map(async (token) => {
      const response = await fetch(`${engineUrl}/ttt/transcribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ url: mediaUrl }),
      });
      await response.body?.cancel();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }),
  );
  const accepted = statuses['202'] ?? 0;
  const done = new LatencyRecorder();
  for (let finished = 0; finished < accepted;) {
    await new Promise((r) => setTimeout(r, 100));
    const health = (await (await fetch(`${tttUrl}/health`)).json()) as { jobs: { queued: number; processing: number } };
    const now = accepted - health.jobs.queued - health.jobs.processing;
    for (; finished < now; finished++) done.add(performance.now() - started); // completion time of each job
    if (performance.now() - started > 10 * 60_000) throw new Error('jobs did not finish within 10 minutes');
  }
  const elapsedSec = (performance.now() - started) / 1000;
  return {
    elapsedSec,
    completed: accepted,
    rps: accepted / elapsedSec,
    latencyMs: done.summary(),
    samples: done.values().slice(),
    statuses,
    unexpected: tokens.length - accepted,
    errors: 0,
    exhausted: true,
  };
}

async function serveFile(bytes: Buffer): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': bytes.length }).end(bytes),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/clip.mp3` };
}
