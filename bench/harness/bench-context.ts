import type { BenchSettings, Measurement, MeasurementGroup } from './bench-result.js';
import type { LoadOutcome } from './closed-load.js';
import { LatencyRecorder, round } from './latency-recorder.js';
import { CpuMeter, mergeCpuWindows, type CpuWindow } from './process-cpu.js';

/** What a scenario declares about one measured endpoint (an "arm" when several are interleaved). */
export interface ArmSpec {
  readonly id: string;
  readonly title: string;
  readonly group: MeasurementGroup;
  readonly request: string;
  readonly mode?: 'closed' | 'paced';
  readonly connections: number;
  readonly rate?: number;
  /** The processes whose CPU is reported (the load generator and the background are always added). */
  readonly servers: ReadonlyArray<{ readonly name: string; readonly pid: number }>;
  readonly params?: Readonly<Record<string, number | string>>;
  /** Unmeasured load first (JIT, connection pools, SQLite page cache). */
  readonly warmup?: () => Promise<unknown>;
  /**
   * Prepares one window of `durationSec` outside the timed part (e.g. signs its single-use requests) and
   * returns the load to run in it.
   */
  readonly prepare: (durationSec: number) => Promise<() => Promise<LoadOutcome>>;
}

/** A single-window measurement whose load needs no preparation. */
export interface MeasureSpec extends Omit<ArmSpec, 'prepare'> {
  readonly load: (durationSec: number) => Promise<LoadOutcome>;
}

/** When a measured window ran, on the monotonic clock V8 profiles use (µs), and which servers it loaded. */
export interface WindowSpan {
  readonly id: string;
  readonly servers: readonly string[];
  readonly startUs: number;
  readonly endUs: number;
}

interface Round {
  readonly out: LoadOutcome;
  readonly cpu: CpuWindow;
}

/**
 * Shared state of one bench run: settings, the measurements so far and notes. `measure` runs one window;
 * `measureInterleaved` runs several endpoints in alternating short windows (A B, B A, A B …) so that a slow
 * stretch of a shared machine hits all of them alike, which keeps their ratios honest.
 *
 * @example
 * await ctx.measure({ id: 'limits.bare-http', title: 'bare node:http', group: 'limits', request: 'POST /transcribe',
 *   connections: 50, servers: [bare], load: (sec) => runClosedLoad({ …, durationSec: sec }) });
 */
export class BenchContext {
  readonly measurements: Measurement[] = [];
  readonly notes: string[] = [];
  /** Every measured window, to attribute CPU profile samples to scenarios. */
  readonly windows: WindowSpan[] = [];

  constructor(
    readonly settings: BenchSettings,
    private readonly print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  /** Whether a scenario group was selected with --only (all are by default). */
  wants(name: string): boolean {
    return this.settings.only === null || this.settings.only.includes(name);
  }

  log(line: string): void {
    this.print(line);
  }

  note(line: string): void {
    this.notes.push(line);
    this.print(`  note: ${line}`);
  }

  async measure(spec: MeasureSpec): Promise<Measurement> {
    const { load, ...rest } = spec;
    const [m] = await this.measureInterleaved([{ ...rest, prepare: async (sec) => () => load(sec) }], 1);
    return m as Measurement;
  }

  /**
   * Warms every arm, then gives each `rounds` windows of `windowSec / rounds`, alternating the order every
   * round, and merges each arm's windows (requests, exact latency samples, CPU seconds) into one measurement.
   */
  async measureInterleaved(arms: readonly ArmSpec[], rounds: number): Promise<Measurement[]> {
    for (const arm of arms) if (arm.warmup) await arm.warmup();
    const roundSec = this.settings.windowSec / rounds;
    const results = arms.map(() => [] as Round[]);
    for (let r = 0; r < rounds; r++) {
      const order = arms.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        const arm = arms[i] as ArmSpec;
        const load = await arm.prepare(roundSec);
        const meter = new CpuMeter(arm.servers);
        meter.start();
        const startUs = monotonicMicros();
        const out = await load();
        this.windows.push({
          id: arm.id,
          servers: arm.servers.map((srv) => srv.name),
          startUs,
          endUs: monotonicMicros(),
        });
        results[i]?.push({ out, cpu: meter.stop() });
      }
    }
    return arms.map((arm, i) => this.record(arm, results[i] ?? [], rounds));
  }

  private record(arm: ArmSpec, rounds: readonly Round[], roundCount: number): Measurement {
    const latencies = new LatencyRecorder();
    const statuses: Record<string, number> = {};
    let elapsed = 0;
    let unexpected = 0;
    let errors = 0;
    for (const { out } of rounds) {
      latencies.addAll(out.samples);
      elapsed += out.elapsedSec;
      unexpected += out.unexpected;
      errors += out.errors;
      for (const [status, n] of Object.entries(out.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
    }
    const cpu = mergeCpuWindows(rounds.map((r) => r.cpu));
    const serverCpuSec = cpu.shares
      .filter((c) => c.process !== 'load-generator' && c.process !== 'background')
      .reduce((sum, c) => sum + c.cpuSec, 0);
    const requests = latencies.count;
    const m: Measurement = {
      id: arm.id,
      title: arm.title,
      group: arm.group,
      request: arm.request,
      mode: arm.mode ?? 'closed',
      connections: arm.connections,
      rate: arm.rate ?? null,
      rounds: roundCount,
      windowSec: round(elapsed),
      requests,
      rps: elapsed > 0 ? Math.round(requests / elapsed) : 0,
      latencyMs: latencies.summary(),
      statuses,
      unexpected,
      errors,
      exhausted: rounds.some((r) => r.out.exhausted),
      cpu: cpu.shares,
      serverCpuMsPerRequest: requests > 0 ? round((serverCpuSec * 1000) / requests) : null,
      params: arm.params ?? {},
    };
    this.measurements.push(m);
    const cpuText = m.cpu.map((c) => `${c.process} ${c.percent}%`).join(', ');
    const flags =
      `${m.unexpected > 0 ? ` UNEXPECTED ${JSON.stringify(m.statuses)}` : ''}${m.errors > 0 ? ` errors ${m.errors}` : ''}` +
      (m.exhausted ? ' (supply used up early)' : '');
    this.print(
      `  ${m.id.padEnd(42)} ${String(m.rps).padStart(6)} req/s  p50 ${m.latencyMs.p50.toFixed(2)} ms  ` +
        `p99 ${m.latencyMs.p99.toFixed(2)} ms  ${m.serverCpuMsPerRequest ?? '–'} cpu-ms/req  [${cpuText}]${flags}`,
    );
    return m;
  }
}

/** CLOCK_MONOTONIC in µs: the clock of V8's `--cpu-prof` timestamps in every process on the machine. */
function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
