import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchContext } from './harness/bench-context.js';
import { machineInfo, type BenchReport, type BenchSettings } from './harness/bench-result.js';
import { BUSY_BACKGROUND_PERCENT, meanBackground, renderMarkdown } from './harness/markdown-report.js';
import { summariseProfileDir } from './harness/profile-summary.js';
import { killAllServers, REPO_ROOT } from './harness/server-process.js';
import { evaluateTargets } from './harness/targets.js';
import { runCluster } from './scenarios/cluster.js';
import { runConnections } from './scenarios/connections.js';
import { runFixedRate } from './scenarios/fixed-rate.js';
import { runLedger } from './scenarios/ledger.js';
import { runLimits } from './scenarios/limits.js';
import { runMocks } from './scenarios/mocks.js';
import { runServices } from './scenarios/services.js';
import { StackSession } from './scenarios/stack-session.js';

/*
 * `npm run bench`: every scenario, side by side in one run, on loopback only; each window is bounded in time and
 * in count and the whole run stops by itself (hard limit below). Writes bench/results/latest.{json,md}.
 * Exit code: 0 when the harness ran (missed targets are printed), 1 on a harness error, 3 on a missed target
 * with BENCH_STRICT=1.
 */
const SCENARIOS = ['limits', 'services', 'fixed-rate', 'connections', 'ledger', 'mocks', 'cluster'] as const;
const HARD_LIMIT_MS = 20 * 60_000;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    window: { type: 'string' },
    rounds: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`npm run bench [-- options]
  --quick          1 s windows, fewer steps (indicative numbers; for trying the harness)
  --only=a,b       scenario groups: ${SCENARIOS.join(', ')}
  --window=SEC     seconds measured per endpoint (default 6; split into --rounds windows when interleaved)
  --rounds=N       alternating windows per endpoint in side-by-side comparisons (default 3)
  --profile        run the services with --cpu-prof and summarise the profiles (bench/results/profiles.tmp/)
  --out=DIR        where latest.json and latest.md go (default bench/results)
env: BENCH_STRICT=1 exits 3 when a target is missed; BENCH_LOG_LEVEL sets the services' LOG_LEVEL (default info).`);
  process.exit(0);
}
const positive = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0)) {
    console.error(`--${name} must be a positive number; got "${value}".`);
    process.exit(1);
  }
  return n;
};

const quick = values.quick;
const outDir = resolve(values.out ?? join(REPO_ROOT, 'bench/results'));
const only = values.only
  ? values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  : null;
for (const name of only ?? []) {
  if (!(SCENARIOS as readonly string[]).includes(name)) {
    console.error(`Unknown scenario group "${name}"; choose from ${SCENARIOS.join(', ')}.`);
    process.exit(1);
  }
}
const settings: BenchSettings = {
  quick,
  windowSec: positive('window', values.window, quick ? 1 : 6),
  warmupSec: quick ? 0.5 : 1,
  connections: 50,
  connectionSteps: quick ? [1, 50, 200] : [1, 10, 50, 100, 200],
  ledgerRows: quick ? [1_000, 10_000] : [1_000, 10_000, 100_000, 1_000_000],
  pacedRate: 100,
  rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 3)),
  logLevel: process.env['BENCH_LOG_LEVEL'] ?? 'info',
  profile: values.profile,
  only,
};

const hardLimit = setTimeout(() => {
  console.error(`bench: still running after ${HARD_LIMIT_MS / 60_000} minutes; stopping.`);
  killAllServers();
  process.exit(1);
}, HARD_LIMIT_MS);
hardLimit.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllServers();
    process.exit(130);
  });
}

async function main(): Promise<number> {
  const startedAt = performance.now();
  const ctx = new BenchContext(settings);
  const machine = machineInfo();
  ctx.log(
    `bench: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; windows ${settings.windowSec} s, ` +
      `${settings.connections} connections${quick ? ', quick mode' : ''}`,
  );
  const run = async (name: (typeof SCENARIOS)[number], fn: (c: BenchContext) => Promise<void>) => {
    if (!ctx.wants(name)) return;
    ctx.log(`[${name}]`);
    await fn(ctx);
  };
  await run('limits', runLimits);
  const profileDir = settings.profile ? join(outDir, 'profiles.tmp') : undefined;
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  const stack = await StackSession.create(ctx, profileDir);
  try {
    await run('services', (c) => runServices(c, stack));
    await run('fixed-rate', (c) => runFixedRate(c, stack));
    await run('connections', (c) => runConnections(c, stack));
    await run('ledger', (c) => runLedger(c, stack));
  } finally {
    await stack.close();
  }
  await run('mocks', runMocks);
  await run('cluster', runCluster);
  if (profileDir && existsSync(profileDir)) {
    writeFileSync(join(profileDir, 'summary.md'), summariseProfileDir(profileDir, ctx.windows));
    // The measured windows on the profiles' clock, for slicing the .cpuprofile files with other tools.
    writeFileSync(join(profileDir, 'windows.json'), `${JSON.stringify(ctx.windows, null, 2)}\n`);
    ctx.note(
      `CPU profiles of the services and their summary: ${relative(REPO_ROOT, join(profileDir, 'summary.md'))} (not committed).`,
    );
  }

  const report: BenchReport = {
    schemaVersion: 1,
    date: new Date().toISOString(),
    durationSec: Math.round((performance.now() - startedAt) / 100) / 10,
    machine,
    settings,
    measurements: ctx.measurements,
    targets: evaluateTargets(ctx.measurements),
    notes: ctx.notes,
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.md'), renderMarkdown(report));

  ctx.log('');
  for (const t of report.targets) {
    const value = t.measured === null ? 'not measured' : `${t.measured}${t.unit === 'x' ? ' x' : ' ms'}`;
    const mark = t.status === 'pass' ? 'PASS' : t.status === 'fail' ? 'MISS' : 'N/A ';
    ctx.log(
      `${mark} ${t.id}: ${value} (needs ${t.comparison} ${t.threshold}${t.unit === 'x' ? ' x' : ' ms'})${t.note ? ` – ${t.note}` : ''}`,
    );
  }
  const background = meanBackground(report.measurements);
  if (background !== null && background > BUSY_BACKGROUND_PERCENT) {
    ctx.log(
      `bench: WARNING: other work used ${Math.round(background)} % of a core on average during the windows; numbers are noisy.`,
    );
  }
  ctx.log(
    `bench: wrote ${relative(process.cwd(), join(outDir, 'latest.json'))} and latest.md in ${report.durationSec} s`,
  );
  const missed = report.targets.filter((t) => t.status !== 'pass');
  if (missed.length > 0) {
    ctx.log(`bench: ${missed.length} target(s) missed or not measured: ${missed.map((t) => t.id).join(', ')}`);
    if (process.env['BENCH_STRICT'] === '1') return 3;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('bench: harness error:', error instanceof Error ? error.stack : error);
    killAllServers();
    process.exit(1);
  },
);
