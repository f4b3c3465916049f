import { Pool } from 'undici';
import type { HttpRequestSpec, LoadOutcome } from './closed-load.js';
import { LatencyRecorder, round } from './latency-recorder.js';

export interface PacedLoadOptions {
  readonly origin: string;
  /** Requests per second, sent evenly spaced (open loop: a slow answer does not delay the next send). */
  readonly rate: number;
  readonly durationSec: number;
  /** Single-use requests, one per send; the run sends at most `supply.length`. */
  readonly supply: readonly HttpRequestSpec[];
  readonly expectStatus: readonly number[];
  /** Keep-alive connections available to the pacer. */
  readonly connections?: number;
}

/**
 * Fixed-rate load with evenly spaced sends. autocannon's `overallRate` releases each second's quota as a burst
 * at the start of the second, which measures queueing rather than the added latency of one request at a steady
 * 100 req/s; this pacer schedules send i at `start + i / rate` instead.
 *
 * @example
 * const out = await runPacedLoad({ origin, rate: 100, durationSec: 5, supply, expectStatus: [202] });
 * out.latencyMs.p50;
 */
export async function runPacedLoad(options: PacedLoadOptions): Promise<LoadOutcome> {
  const pool = new Pool(options.origin, {
    connections: options.connections ?? 8,
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
  const expected = new Set(options.expectStatus);
  const latencies = new LatencyRecorder();
  const statuses: Record<string, number> = {};
  let unexpected = 0;
  let errors = 0;
  const total = Math.min(options.supply.length, Math.floor(options.rate * options.durationSec));
  const intervalMs = 1000 / options.rate;
  const inFlight: Promise<void>[] = [];
  const startedAt = performance.now();

  for (let i = 0; i < total; i++) {
    const due = startedAt + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    else if (wait > 0) await new Promise((r) => setImmediate(r));
    const item = options.supply[i] as HttpRequestSpec;
    const sentAt = performance.now();
    inFlight.push(
      pool
        .request({
          method: item.method,
          path: item.path,
          headers: { ...item.headers },
          ...(item.body !== undefined ? { body: item.body } : {}),
        })
        .then(async (res) => {
          await res.body.dump();
          const ms = performance.now() - sentAt;
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          if (expected.has(res.statusCode)) latencies.add(ms);
          else unexpected += 1;
        })
        .catch(() => {
          errors += 1;
        }),
    );
  }
  await Promise.all(inFlight);
  const elapsedSec = (performance.now() - startedAt) / 1000;
  await pool.close();
  return {
    elapsedSec: round(elapsedSec),
    completed: latencies.count,
    rps: Math.round(latencies.count / elapsedSec),
    latencyMs: latencies.summary(),
    samples: latencies.values(),
    statuses,
    unexpected,
    errors,
    exhausted: total < Math.floor(options.rate * options.durationSec),
  };
}
