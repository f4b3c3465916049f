import { cpus, totalmem, loadavg, release } from 'node:os';
import type { LatencySummary } from './latency-recorder.js';
import type { CpuShare } from './process-cpu.js';

/** The groups a measurement belongs to; each becomes a table in the markdown report. */
export type MeasurementGroup = 'limits' | 'services' | 'mocks' | 'fixed-rate' | 'connections' | 'ledger' | 'cluster';

/** One measured load window. */
export interface Measurement {
  readonly id: string;
  readonly title: string;
  readonly group: MeasurementGroup;
  /** e.g. `POST /ttt/transcribe` */
  readonly request: string;
  readonly mode: 'closed' | 'paced';
  readonly connections: number;
  readonly rate: number | null;
  /** Interleaved windows this measurement was split into (1: one window). */
  readonly rounds: number;
  /** Measured seconds, all rounds together. */
  readonly windowSec: number;
  readonly requests: number;
  readonly rps: number;
  readonly latencyMs: LatencySummary;
  readonly statuses: Readonly<Record<string, number>>;
  readonly unexpected: number;
  readonly errors: number;
  readonly exhausted: boolean;
  readonly cpu: readonly CpuShare[];
  /**
   * CPU milliseconds the servers under test spent per answered request: a cost that a busy shared machine
   * distorts far less than req/s.
   */
  readonly serverCpuMsPerRequest: number | null;
  /** Scenario parameters, e.g. `{ ledgerRows: 100000 }`. */
  readonly params: Readonly<Record<string, number | string>>;
}

/** A target from the issue, evaluated on measurements from the same run. */
export interface TargetResult {
  readonly id: string;
  readonly description: string;
  /** The measured value (a ratio or milliseconds); null when an input was not measured or was invalid. */
  readonly measured: number | null;
  readonly threshold: number;
  readonly comparison: '>=' | '<=' | '<';
  readonly unit: 'x' | 'ms';
  /** pass / fail / not measured (an input is missing or had unexpected answers). */
  readonly status: 'pass' | 'fail' | 'not-measured';
  readonly inputs: readonly string[];
  readonly note?: string;
}

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  readonly loadAverage: readonly number[];
}

export interface BenchSettings {
  readonly quick: boolean;
  /** Seconds per measured window. */
  readonly windowSec: number;
  /** Seconds of unmeasured warm-up before each window. */
  readonly warmupSec: number;
  /** The fixed concurrency of the main table. */
  readonly connections: number;
  readonly connectionSteps: readonly number[];
  readonly ledgerRows: readonly number[];
  readonly pacedRate: number;
  /** Interleaved windows per arm for the side-by-side (target) comparisons. */
  readonly rounds: number;
  readonly logLevel: string;
  readonly profile: boolean;
  readonly only: readonly string[] | null;
}

/** Everything `npm run bench` writes to bench/results/latest.json. */
export interface BenchReport {
  readonly schemaVersion: 1;
  readonly date: string;
  readonly durationSec: number;
  readonly machine: MachineInfo;
  readonly settings: BenchSettings;
  readonly measurements: readonly Measurement[];
  readonly targets: readonly TargetResult[];
  /** Skipped scenarios, harness remarks, profile summaries. */
  readonly notes: readonly string[];
}

/**
 * The machine facts printed with every result (the numbers mean little without them).
 *
 * @example
 * machineInfo().cpus; // 2
 */
export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()} ${process.arch}`,
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}
