import autocannon from 'autocannon';
import { LatencyRecorder, round, type LatencySummary } from './latency-recorder.js';

/** One HTTP request as the load generator sends it. */
export interface HttpRequestSpec {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface ClosedLoadOptions {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly connections: number;
  /** The window; the run stops after it even if requests remain. */
  readonly durationSec: number;
  /**
   * A request repeated for the whole window, or a pre-built supply of single-use requests sent in order at most
   * once each (the run also stops when the supply is used up, so it is bounded in count too).
   */
  readonly request: HttpRequestSpec | { readonly supply: readonly HttpRequestSpec[] };
  /** Statuses that count as success; anything else is reported as unexpected. */
  readonly expectStatus: readonly number[];
  readonly timeoutSec?: number;
}

/** What one load window measured. Latency and req/s cover expected responses only. */
export interface LoadOutcome {
  readonly elapsedSec: number;
  readonly completed: number;
  readonly rps: number;
  readonly latencyMs: LatencySummary;
  /** Every expected response's time, ms (to merge rounds exactly). */
  readonly samples: Float64Array;
  readonly statuses: Readonly<Record<string, number>>;
  readonly unexpected: number;
  readonly errors: number;
  /** True when the supply ran out before the window closed. */
  readonly exhausted: boolean;
}

/**
 * Closed-loop load with autocannon: `connections` keep-alive connections, each sending its next request as soon
 * as the previous answer arrives. Response times are recorded exactly (autocannon's histogram rounds to 1 ms);
 * requests still in flight when the window closes are not counted.
 *
 * @example
 * const out = await runClosedLoad({ origin: server.url, connections: 50, durationSec: 5,
 *   request: { method: 'GET', path: '/' }, expectStatus: [200] });
 * console.log(out.rps, out.latencyMs.p99);
 */
export function runClosedLoad(options: ClosedLoadOptions): Promise<LoadOutcome> {
  const supply = 'supply' in options.request ? options.request.supply : undefined;
  const first = supply ? supply[0] : (options.request as HttpRequestSpec);
  if (!first) return Promise.reject(new Error('runClosedLoad: the request supply is empty'));
  const connections = supply ? Math.max(1, Math.min(options.connections, supply.length)) : options.connections;
  const expected = new Set(options.expectStatus);
  const latencies = new LatencyRecorder();
  const statuses: Record<string, number> = {};
  let unexpected = 0;
  let errors = 0;
  let open = true;
  let lastAt = 0;
  let next = 0;

  const baseRequest = {
    method: first.method,
    path: first.path,
    headers: { ...first.headers },
    ...(first.body !== undefined ? { body: first.body } : {}),
  };
  const requests: autocannon.Request[] = supply
    ? [
        {
          ...baseRequest,
          // Each item is used once; past the end (only on reconnects) the last one repeats and fails visibly.
          setupRequest: (req) => {
            const item = supply[Math.min(next++, supply.length - 1)] as HttpRequestSpec;
            return {
              ...req,
              method: item.method,
              path: item.path,
              headers: { ...item.headers },
              body: item.body ?? '',
            };
          },
        },
      ]
    : [baseRequest];

  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    let stoppedAt = 0;
    let instance: autocannon.Instance;
    try {
      instance = autocannon(
        {
          url: options.origin,
          connections,
          // autocannon ignores `duration` when `amount` is set; the timer below bounds the window either way.
          duration: options.durationSec + 5,
          ...(supply ? { amount: supply.length } : {}),
          requests,
          pipelining: 1,
          timeout: options.timeoutSec ?? 10,
          sampleInt: 100,
          excludeErrorStats: false,
        },
        (err) => {
          clearTimeout(timer);
          if (open) {
            open = false;
            stoppedAt = lastAt || performance.now();
          }
          if (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
            return;
          }
          const elapsedSec = (stoppedAt - startedAt) / 1000;
          const completed = latencies.count;
          resolve({
            elapsedSec: round(elapsedSec),
            completed,
            rps: elapsedSec > 0 ? Math.round(completed / elapsedSec) : 0,
            latencyMs: latencies.summary(),
            samples: latencies.values(),
            statuses,
            unexpected,
            errors,
            exhausted: supply !== undefined && stoppedAt - startedAt < options.durationSec * 1000 - 50,
          });
        },
      );
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const timer = setTimeout(() => {
      open = false;
      stoppedAt = performance.now();
      instance.stop();
    }, options.durationSec * 1000);
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (!open) return;
      lastAt = performance.now();
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
      if (expected.has(statusCode)) latencies.add(responseTime);
      else unexpected += 1;
    });
    instance.on('reqError', () => {
      if (open) errors += 1;
    });
  });
}

/**
 * Sends a few requests one at a time and waits for each (up to `timeoutSec` in all), so a freshly started
 * server's one-off work (lazy schema compilation, key import, page cache) is done before a timed warm-up.
 *
 * @example
 * await prime(engine.url, [balance, balance, balance], [200]);
 */
export async function prime(
  origin: string,
  requests: readonly HttpRequestSpec[],
  expectStatus: readonly number[],
  timeoutSec = 30,
): Promise<void> {
  if (requests.length === 0) return;
  await runClosedLoad({
    origin,
    connections: 1,
    durationSec: timeoutSec,
    request: { supply: requests },
    expectStatus,
    timeoutSec,
  });
}

/**
 * The usual warm-up for a repeatable request: prime, then `durationSec` of load at `connections`.
 *
 * @example
 * warmup: () => warmRepeated(hello.url, { method: 'GET', path: '/' }, [200], 50, 1),
 */
export async function warmRepeated(
  origin: string,
  request: HttpRequestSpec,
  expectStatus: readonly number[],
  connections: number,
  durationSec: number,
): Promise<void> {
  await prime(origin, [request, request, request], expectStatus);
  await runClosedLoad({ origin, connections, durationSec, request, expectStatus });
}
