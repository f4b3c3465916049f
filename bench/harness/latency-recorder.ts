/** Latency percentiles in milliseconds, computed exactly from every sample (no histogram rounding). */
export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * Collects response times in a growable Float64Array. autocannon's own histogram rounds to whole milliseconds,
 * which hides sub-millisecond differences such as the gateway's added latency, so the harness keeps raw samples.
 *
 * @example
 * const rec = new LatencyRecorder();
 * rec.add(0.42);
 * rec.add(1.3);
 * rec.summary(); // { p50: 0.42, p90: 1.3, p99: 1.3, max: 1.3, mean: 0.86 }
 */
export class LatencyRecorder {
  private samples = new Float64Array(4096);
  private size = 0;

  get count(): number {
    return this.size;
  }

  /** The raw samples (a view; copy before keeping it past the next `add`). */
  values(): Float64Array {
    return this.samples.subarray(0, this.size);
  }

  /** Appends every sample of another recorder. */
  addAll(values: Float64Array): void {
    for (const v of values) this.add(v);
  }

  add(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
  }

  summary(): LatencySummary {
    if (this.size === 0)
      return { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
    const sorted = this.samples.slice(0, this.size).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      p50: round(percentile(sorted, 0.5)),
      p90: round(percentile(sorted, 0.9)),
      p99: round(percentile(sorted, 0.99)),
      max: round(sorted[sorted.length - 1] ?? Number.NaN),
      mean: round(sum / sorted.length),
    };
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Three decimals: microsecond resolution is all loopback timing can honestly claim. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
