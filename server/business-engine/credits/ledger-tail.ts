import type { Statement } from 'better-sqlite3';
import type { CreditMovement } from '../../shared/observability/domain-metrics.js';
import type { EngineDatabase } from '../db/engine-database.js';

interface Row {
  id: number;
  kind: 'grant' | 'charge' | 'refund';
  reason: string;
  amount: number;
}

const BATCH = 1000;

/**
 * Reads the credit movements appended to the ledger since the previous call, for the credit metrics. The ledger
 * is append-only with increasing ids, so remembering the last id seen is exact: every committed charge and refund
 * is counted once, and nothing rolled back ever is. It starts at the current end of the ledger, so the counters
 * count from this process's start like any Prometheus counter.
 *
 * @example
 * const tail = new LedgerTail(db);
 * registerCreditMetrics(metrics.registry, () => tail.read());
 */
export class LedgerTail {
  private lastId: number;
  private readonly after: Statement<[number, number], Row>;

  constructor(db: EngineDatabase) {
    this.lastId = (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM ledger').get() as { id: number }).id;
    this.after = db.prepare('SELECT id, kind, reason, amount FROM ledger WHERE id > ? ORDER BY id LIMIT ?');
  }

  /** Charges and refunds written since the last call (grants are skipped). */
  read(): CreditMovement[] {
    const movements: CreditMovement[] = [];
    for (;;) {
      const rows = this.after.all(this.lastId, BATCH);
      for (const row of rows) {
        this.lastId = row.id;
        if (row.kind !== 'grant') movements.push({ kind: row.kind, reason: row.reason, credits: Math.abs(row.amount) });
      }
      if (rows.length < BATCH) return movements;
    }
  }
}
