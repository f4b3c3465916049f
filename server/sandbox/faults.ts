/**
 * Fault injection for the sandbox: what a fault is, how it is written (the `Pluct-Sandbox-Fault` header and the
 * run's fault file) and the seeded, repeatable decisions of a run. Applying them is fault-middleware.ts's job.
 */
import { z } from 'zod';
import { isErrorCode, type ErrorCode } from '../../generated/errors.js';

/** A delay: fixed, uniform between two bounds, or exponential around a mean (all in ms). */
export type Latency =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  | { readonly kind: 'exponential'; readonly meanMs: number };

/** What the upstream (TTTranscribe, behind the gateway) does: the gateway then answers 502, 503 or 504. */
export type UpstreamFault = 'down' | 'error' | 'timeout' | 'auth';
const UPSTREAM_FAULTS: readonly UpstreamFault[] = ['down', 'error', 'timeout', 'auth'];

/** The faults of one request (from the header, or drawn from the run's plan). */
export interface RequestFaults {
  readonly latency?: Latency;
  readonly error?: ErrorCode;
  /** 429 rate_limited with this Retry-After, in seconds. */
  readonly rateLimited?: number;
  readonly tokenExpired?: boolean;
  readonly upstream?: UpstreamFault;
}

/** Thrown for a fault that cannot be parsed; the sandbox answers it with 400 invalid_request. */
export class FaultSyntaxError extends Error {
  override readonly name = 'FaultSyntaxError';
}

const MAX_LATENCY_MS = 60_000;

function ms(text: string): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) > MAX_LATENCY_MS)
    throw new FaultSyntaxError(`"${text}" is not a delay in ms (0-${MAX_LATENCY_MS})`);
  return Number(text);
}

/**
 * Parses a latency: `250` (fixed), `100-400` (uniform), `exp:200` (exponential with that mean).
 *
 * @example
 * parseLatency('100-400'); // { kind: 'uniform', minMs: 100, maxMs: 400 }
 */
export function parseLatency(text: string): Latency {
  const t = text.trim();
  if (t.startsWith('exp:')) return { kind: 'exponential', meanMs: ms(t.slice(4)) };
  const range = /^(\d+)-(\d+)$/.exec(t);
  if (range) {
    const [minMs, maxMs] = [ms(range[1] as string), ms(range[2] as string)];
    if (minMs > maxMs) throw new FaultSyntaxError(`latency range ${t} runs backwards`);
    return { kind: 'uniform', minMs, maxMs };
  }
  return { kind: 'fixed', ms: ms(t) };
}

/**
 * Parses the `Pluct-Sandbox-Fault` header: `;`-separated faults, each `name` or `name=value`:
 * `latency=250|100-400|exp:200`, `error=<catalog code>`, `rate_limited[=<retry-after sec>]`, `token_expired`,
 * `upstream=down|error|timeout|auth`.
 *
 * @throws FaultSyntaxError naming the part it cannot read.
 * @example
 * parseFaultHeader('latency=100-300; upstream=down'); // { latency: { kind: 'uniform', ... }, upstream: 'down' }
 */
export function parseFaultHeader(value: string): RequestFaults {
  const faults: { -readonly [K in keyof RequestFaults]: RequestFaults[K] } = {};
  for (const part of value
    .split(/[;,]/)
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    const [name = '', arg] = part.split('=', 2).map((s) => s.trim());
    switch (name) {
      case 'latency':
        faults.latency = parseLatency(arg ?? '');
        break;
      case 'error':
        if (!isErrorCode(arg)) throw new FaultSyntaxError(`error=${arg ?? ''} is not a code of the error catalog`);
        faults.error = arg;
        break;
      case 'rate_limited':
        if (arg !== undefined && !/^\d{1,4}$/.test(arg))
          throw new FaultSyntaxError(`rate_limited=${arg} is not a Retry-After in seconds`);
        faults.rateLimited = Math.max(1, Number(arg ?? 1));
        break;
      case 'token_expired':
        faults.tokenExpired = true;
        break;
      case 'upstream':
        if (!UPSTREAM_FAULTS.includes(arg as UpstreamFault))
          throw new FaultSyntaxError(`upstream=${arg ?? ''} is not one of ${UPSTREAM_FAULTS.join(', ')}`);
        faults.upstream = arg as UpstreamFault;
        break;
      default:
        throw new FaultSyntaxError(
          `unknown fault "${name}" (known: latency, error, rate_limited, token_expired, upstream)`,
        );
    }
  }
  return faults;
}

const rate = z.number().min(0).max(1);
const operationFaults = z
  .object({
    /** Share of calls (0-1) answered with `error` (default internal_error). */
    errorRate: rate.optional(),
    error: z.string().refine(isErrorCode, 'must be a code of the error catalog').optional(),
    /** Share of calls answered 429 rate_limited. */
    rateLimitedRate: rate.optional(),
    retryAfterSec: z.number().int().min(1).max(3600).optional(),
    /** Share of calls whose upstream call fails as `upstream` says. */
    upstreamRate: rate.optional(),
    upstream: z.enum(['down', 'error', 'timeout', 'auth']).optional(),
    latency: z.string().optional(),
  })
  .strict();

/** The run's fault plan: a `--faults <file>` JSON document (or PLUCT_SANDBOX_FAULTS). */
export const faultPlanSchema = z
  .object({
    /** Seed of the run's random draws: the same seed and the same requests give the same faults. */
    seed: z.number().int().default(1),
    /** Latency of every request, e.g. "250", "100-400", "exp:200". */
    latency: z.string().optional(),
    /** Per operationId (`vendToken`, ...) or `*` for all. */
    operations: z.record(z.string(), operationFaults).default({}),
    /** Authenticated calls (counted from 1 across the run) answered 401 token_expired, e.g. [3] for the third. */
    tokenExpiredOnCalls: z.array(z.number().int().min(1)).default([]),
    /** The upstream is down, failing, slow or refusing the gateway's signature for the whole run. */
    upstream: z.enum(['down', 'error', 'timeout', 'auth']).optional(),
  })
  .strict();
export type FaultPlan = z.output<typeof faultPlanSchema>;

/**
 * A seeded PRNG (mulberry32): the same seed gives the same sequence on every machine.
 *
 * @example
 * const next = seededRandom(42); next(); // 0.6011...
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Draws one delay (ms) from a latency.
 *
 * @example
 * drawLatency({ kind: 'uniform', minMs: 100, maxMs: 200 }, seededRandom(1)); // between 100 and 200
 */
export function drawLatency(latency: Latency, random: () => number): number {
  switch (latency.kind) {
    case 'fixed':
      return latency.ms;
    case 'uniform':
      return Math.round(latency.minMs + (latency.maxMs - latency.minMs) * random());
    case 'exponential':
      return Math.max(0, Math.min(MAX_LATENCY_MS, Math.round(-latency.meanMs * Math.log(1 - random()))));
  }
}

/** The run's decisions: each call draws from one seeded sequence, in arrival order. */
export interface FaultDecider {
  /** The faults of one request to `operationId`; `authenticated` counts it for `tokenExpiredOnCalls`. */
  decide(operationId: string, authenticated: boolean): RequestFaults;
  /** Draws one delay of a latency from the run's sequence. */
  drawLatency(latency: Latency): number;
  /** Starts the sequence and the call count again (POST /sandbox/reset). */
  reset(): void;
}

/**
 * Builds a run's decider from its plan (validated: a bad plan throws at start).
 *
 * @example
 * const decider = createFaultDecider(faultPlanSchema.parse({ seed: 7, operations: { vendToken: { errorRate: 0.2 } } }));
 * decider.decide('vendToken', true); // {} or { error: 'internal_error' }, the same on every run with seed 7
 */
export function createFaultDecider(plan: FaultPlan): FaultDecider {
  const latency = plan.latency === undefined ? undefined : parseLatency(plan.latency);
  const perOp = Object.fromEntries(
    Object.entries(plan.operations).map(([op, f]) => [
      op,
      { ...f, latency: f.latency === undefined ? undefined : parseLatency(f.latency) },
    ]),
  );
  let random = seededRandom(plan.seed);
  let authenticatedCalls = 0;
  return {
    decide(operationId, authenticated) {
      const faults: { -readonly [K in keyof RequestFaults]: RequestFaults[K] } = {};
      const op = perOp[operationId] ?? perOp['*'];
      const opLatency = op?.latency ?? latency;
      if (opLatency) faults.latency = opLatency;
      if (plan.upstream) faults.upstream = plan.upstream;
      if (authenticated) {
        authenticatedCalls += 1;
        if (plan.tokenExpiredOnCalls.includes(authenticatedCalls)) faults.tokenExpired = true;
      }
      if (op) {
        // Always three draws per planned call, so one operation's rates do not shift another's sequence.
        const [e, r, u] = [random(), random(), random()];
        if (op.errorRate !== undefined && e < op.errorRate) faults.error = op.error ?? 'internal_error';
        if (op.rateLimitedRate !== undefined && r < op.rateLimitedRate) faults.rateLimited = op.retryAfterSec ?? 1;
        if (op.upstreamRate !== undefined && u < op.upstreamRate) faults.upstream = op.upstream ?? 'down';
      }
      return faults;
    },
    drawLatency: (l) => drawLatency(l, random),
    reset() {
      random = seededRandom(plan.seed);
      authenticatedCalls = 0;
    },
  };
}

/**
 * A request's faults: the run's decision, with the header's faults over it.
 *
 * @example
 * mergeFaults({ latency }, { upstream: 'down' }); // { latency, upstream: 'down' }
 */
export function mergeFaults(run: RequestFaults, request: RequestFaults): RequestFaults {
  return { ...run, ...request };
}
