import type { components } from '../../../generated/business-engine/schema.js';

type IntegrationReport = components['schemas']['IntegrationReport'];

/** How long one integration report answers every caller (GET /health/ttt-integration is unauthenticated). */
export const INTEGRATION_REPORT_TTL_MS = 5000;

/**
 * Wraps the TTTranscribe integration check so that it reaches TTTranscribe at most once per `ttlMs`: callers
 * arriving while a check runs share it (single flight), and its report answers everyone until it is `ttlMs`
 * old. A check that throws is not kept.
 *
 * @example
 * const check = cachedIntegrationCheck((requestId) => checkTttIntegration({ keys, upstream, now, requestId }), { now });
 * const report = await check(requestIdOf(res));
 */
export function cachedIntegrationCheck(
  run: (requestId: string) => Promise<IntegrationReport>,
  options: { now: () => number; ttlMs?: number },
): (requestId: string) => Promise<IntegrationReport> {
  const ttlMs = options.ttlMs ?? INTEGRATION_REPORT_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new Error('cachedIntegrationCheck: ttlMs must be a number >= 0');
  let kept: { report: IntegrationReport; at: number } | undefined;
  let running: Promise<IntegrationReport> | undefined;
  return (requestId) => {
    if (kept && options.now() - kept.at < ttlMs) return Promise.resolve(kept.report);
    if (running) return running;
    running = run(requestId).then(
      (report) => {
        kept = { report, at: options.now() };
        running = undefined;
        return report;
      },
      (error: unknown) => {
        running = undefined;
        throw error;
      },
    );
    return running;
  };
}
