import type { ArmSpec, BenchContext } from './bench-context.js';
import type { Measurement } from './bench-result.js';
import { prime, runClosedLoad, type HttpRequestSpec } from './closed-load.js';

export interface SuppliedArmSpec extends Omit<ArmSpec, 'warmup' | 'prepare'> {
  readonly origin: string;
  readonly expectStatus: readonly number[];
  /** Builds `count` single-use requests, signed now. */
  readonly build: (count: number) => Promise<HttpRequestSpec[]>;
  /** A first guess of req/s, used to size the warm-up supply. */
  readonly guessRps: number;
  /** Upper bound on one window's supply (keeps pre-generation time and memory bounded). */
  readonly maxSupply?: number;
}

/** Headroom over the warm-up rate, so the supply rarely runs out before the window closes. */
const SUPPLY_FACTOR = 2;

/**
 * An arm for an endpoint whose requests are single-use (fresh tokens, nonces, idempotency keys): the warm-up runs
 * supplies sized from a guess and learns the real rate; each window then gets a supply sized from that rate, built
 * before its load starts so signing never runs inside the timed window. The window also stops when its supply
 * runs out (bounded in count as well as time).
 *
 * @example
 * await ctx.measureInterleaved([suppliedArm(ctx, { id, …, build: (n) => users.vendSupply(n) }), express], 3);
 */
export function suppliedArm(ctx: BenchContext, spec: SuppliedArmSpec): ArmSpec {
  const max = spec.maxSupply ?? 60_000;
  let rate = spec.guessRps;
  const { build, origin, connections, expectStatus, guessRps: _guess, maxSupply: _max, ...arm } = spec;
  return {
    ...arm,
    connections,
    warmup: async () => {
      const { warmupSec } = ctx.settings;
      await prime(origin, await build(3), expectStatus);
      // Two warm-up windows: the first finds a cold server's (low) rate, the second, sized from it, the warm rate.
      for (let i = 0; i < 2; i++) {
        const supply = await build(
          Math.min(max, Math.max(connections * 2, Math.ceil(rate * warmupSec * SUPPLY_FACTOR))),
        );
        const warm = await runClosedLoad({
          origin,
          connections,
          durationSec: warmupSec,
          request: { supply },
          expectStatus,
        });
        rate = i === 0 ? Math.max(warm.rps, 100) : Math.max(rate, warm.rps);
      }
    },
    prepare: async (durationSec) => {
      const supply = await build(Math.min(max, Math.ceil(rate * durationSec * SUPPLY_FACTOR) + connections * 2));
      return async () => {
        const out = await runClosedLoad({ origin, connections, durationSec, request: { supply }, expectStatus });
        // A shared machine's speed drifts: size the next window from the fastest rate seen so far.
        rate = Math.max(rate, out.rps);
        return out;
      };
    },
  };
}

/**
 * Measures one single-use endpoint in one window (see {@link suppliedArm}).
 *
 * @example
 * await measureSupplied(ctx, { id, title, group: 'services', request: 'POST /transcribe', connections: 50,
 *   servers: [ttt], origin: ttt.url, expectStatus: [202], guessRps: 2000,
 *   build: (n) => directTranscribeSupply(creds, n, TRANSCRIBE_BODY, users) });
 */
export async function measureSupplied(ctx: BenchContext, spec: SuppliedArmSpec): Promise<Measurement> {
  const [m] = await ctx.measureInterleaved([suppliedArm(ctx, spec)], 1);
  return m as Measurement;
}
