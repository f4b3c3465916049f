import type { Database, Statement } from 'better-sqlite3';

interface Pending {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for SQLite: writes submitted in the same turn of the event loop run in ONE transaction, each inside
 * its own savepoint, and are answered only after that transaction committed. A commit writes every page it touched
 * to the WAL once, so N small writes to the same tables cost about one commit instead of N.
 *
 * Guarantees, each tested (test/server/business-engine/db/sqlite-group-commit.test.ts):
 * - one unit's failure (it throws) rolls back its savepoint only: its writes are gone, the others' stay, and it is
 *   rejected with its own error;
 * - nobody is answered before the commit that holds their writes: if the commit (or the BEGIN) fails, every unit of
 *   the group is rejected with that error and nothing of the group is written;
 * - units run in the order they were submitted, synchronously between BEGIN and COMMIT, so no other code of this
 *   process interleaves with them, and a later unit sees what an earlier one wrote.
 * A unit must be synchronous and must not open or end transactions itself (a better-sqlite3 `db.transaction(...)`
 * function nests as a savepoint and is fine).
 *
 * @example
 * const group = new SqliteGroupCommit(db);
 * const balance = await group.run(() => charge(userId)); // resolved after the commit that holds the charge
 */
export class SqliteGroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly savepoint: Statement;
  private readonly release: Statement;
  private readonly rollbackTo: Statement;

  constructor(
    private readonly db: Database,
    private readonly options: { readonly maxBatch?: number } = {},
  ) {
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
    this.savepoint = db.prepare('SAVEPOINT group_unit');
    this.release = db.prepare('RELEASE group_unit');
    this.rollbackTo = db.prepare('ROLLBACK TO group_unit');
  }

  /** Runs `work` in the next group's transaction; settles once that transaction committed (or failed). */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const max = this.options.maxBatch ?? 256;
    const group = this.queue.splice(0, max);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.begin.run();
    } catch (error) {
      for (const unit of group) unit.reject(error);
      return;
    }
    try {
      for (const unit of group) {
        this.savepoint.run();
        try {
          const value = unit.work();
          this.release.run();
          outcomes.push({ ok: true, value });
        } catch (error) {
          this.rollbackTo.run();
          this.release.run();
          outcomes.push({ ok: false, error });
        }
      }
      this.commit.run();
    } catch (error) {
      try {
        if (this.db.inTransaction) this.rollback.run();
      } finally {
        for (const unit of group) unit.reject(error);
      }
      return;
    }
    group.forEach((unit, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) unit.resolve(outcome.value);
      else unit.reject(outcome?.error);
    });
  }
}
