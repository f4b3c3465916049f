import { Counter, Gauge, type Registry } from 'prom-client';

/** A credit movement read from the ledger since the last scrape. */
export interface CreditMovement {
  readonly kind: 'charge' | 'refund';
  readonly reason: string;
  /** Credits moved (positive). */
  readonly credits: number;
}

const REASON = /^[a-z][a-z0-9_]{0,47}(:[a-z][a-z0-9_]{0,47})?$/;

/**
 * Registers `credits_charged_total` and `credits_refunded_total{reason}`. They are fed at scrape time by
 * `readMovements` (the ledger entries written since the previous call), so they count what was committed, not
 * what was attempted. A reason that is not a short snake_case word (optionally `word:code`) is counted as `other`.
 *
 * @example
 * registerCreditMetrics(metrics.registry, ledgerTail.read);
 */
export function registerCreditMetrics(registry: Registry, readMovements: () => readonly CreditMovement[]): void {
  // Either counter may be collected first; whichever is pulls every new movement into both.
  const pull = (): void => {
    for (const movement of readMovements()) {
      if (movement.kind === 'charge') charged.inc(movement.credits);
      else refunded.inc({ reason: REASON.test(movement.reason) ? movement.reason : 'other' }, movement.credits);
    }
  };
  const charged = new Counter({
    name: 'credits_charged_total',
    help: 'Credits charged (one per vended service token).',
    registers: [registry],
    collect: pull,
  });
  const refunded = new Counter({
    name: 'credits_refunded_total',
    help: 'Credits refunded, by reason (e.g. upstream_auth_failure, token_expired_unused, job_failed:<code>).',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect: pull,
  });
}

/**
 * Registers `jobs_by_state{state}`, a gauge read at scrape time from `countByState` (e.g. one indexed
 * `GROUP BY status` query). States missing from the answer are reported as 0.
 *
 * @example
 * registerJobMetrics(metrics.registry, ['queued', 'processing', 'completed', 'failed'], () => counts.read());
 */
export function registerJobMetrics(
  registry: Registry,
  states: readonly string[],
  countByState: () => Readonly<Record<string, number>> | Promise<Readonly<Record<string, number>>>,
): void {
  new Gauge({
    name: 'jobs_by_state',
    help: 'Jobs in the database, by state.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const counts = await countByState();
      for (const state of states) this.set({ state }, counts[state] ?? 0);
    },
  });
}
