/**
 * One row of the doctor's table. `warn` and `skip` do not fail the run.
 *
 * @example
 * const row: Check = { name: 'engine reachable', status: 'pass', detail: 'answered GET /health in 3 ms.' };
 */
export interface Check {
  readonly name: string;
  readonly status: 'pass' | 'fail' | 'warn' | 'skip';
  readonly detail: string;
  readonly fix?: string;
  /** Sub-results (the engine's own integration checks). */
  readonly children?: readonly Check[];
  readonly data?: Record<string, unknown>;
}
