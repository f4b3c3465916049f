import { CreditLedger } from '../../server/business-engine/credits/credit-ledger.js';
import { openEngineDatabase } from '../../server/business-engine/db/engine-database.js';

const ROWS_PER_USER = 20;
const BATCH_ROWS = 50_000;

/**
 * Grows an engine database's ledger to at least `targetRows` rows through the engine's own CreditLedger (so every
 * row, balance and index is what the engine itself would write), in bulk transactions of 50 000 rows, while no
 * engine process has the file open. Rows go to filler users, 20 each (each user's first row is its signup bonus).
 * Returns the row count reached.
 *
 * @example
 * fillLedger('/tmp/pluct-bench-x/ledger.db', 100_000); // 100000
 */
export function fillLedger(dbPath: string, targetRows: number): number {
  const db = openEngineDatabase(dbPath);
  try {
    const ledger = new CreditLedger(db, { signupBonus: 3, now: Date.now });
    const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM ledger');
    const users = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM users WHERE id LIKE 'fill-user-%'");
    let rows = count.get()?.n ?? 0;
    let nextUser = users.get()?.n ?? 0;
    const batch = db.transaction((limit: number) => {
      let written = 0;
      while (written < limit) {
        const userId = `fill-user-${nextUser++}`;
        ledger.ensureUserIn(userId, null);
        written += 1;
        for (let i = 1; i < ROWS_PER_USER && written < limit; i++, written++) {
          ledger.credit(userId, 'grant', 'main', 1, { reason: 'bench_fill', requestId: null });
        }
      }
      return written;
    });
    while (rows < targetRows) rows += batch.immediate(Math.min(BATCH_ROWS, targetRows - rows));
    db.pragma('wal_checkpoint(TRUNCATE)');
    return rows;
  } finally {
    db.close();
  }
}
