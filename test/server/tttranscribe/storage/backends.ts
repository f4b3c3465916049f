import { openJobDatabase } from '../../../../server/tttranscribe/jobs/database.js';
import { openTttStorage, sqliteStorage, type TttStorage } from '../../../../server/tttranscribe/storage.js';
import { createTestDatabase } from '../../../helpers/postgres.js';

/** A fresh storage on one backend with a clock the test moves, and how to clean it up. */
export interface BackendUnderTest {
  readonly storage: TttStorage;
  readonly clock: { ms: number };
  /** A second storage on the SAME database (another replica or worker process). */
  another(): Promise<TttStorage>;
  dispose(): Promise<void>;
}

export const T0 = Date.UTC(2026, 0, 1);

/** The two backends every store contract test runs against. */
export const BACKENDS: ReadonlyArray<{ name: 'sqlite' | 'postgres'; open: () => Promise<BackendUnderTest> }> = [
  {
    name: 'sqlite',
    async open() {
      const clock = { ms: T0 };
      const db = openJobDatabase(':memory:');
      const storage = sqliteStorage(db, { now: () => clock.ms });
      // An in-memory database is private to its connection: the "other replica" shares the connection.
      return {
        storage,
        clock,
        another: async () => sqliteStorage(db, { now: () => clock.ms }),
        dispose: () => storage.close(),
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      const clock = { ms: T0 };
      const db = await createTestDatabase('ttt_store');
      const opened: TttStorage[] = [];
      const open = async () => {
        const s = await openTttStorage(db.url, { poolMax: 4, now: () => clock.ms });
        opened.push(s);
        return s;
      };
      const storage = await open();
      return {
        storage,
        clock,
        another: open,
        async dispose() {
          await Promise.all(opened.map((s) => s.close()));
          await db.drop();
        },
      };
    },
  },
];
