import type pg from 'pg';
import type { EngineAuthNonceStore } from './engine-auth-verifier.js';
import type { JobDatabase } from '../jobs/database.js';
import { translatePgError } from '../jobs/translate-pg-error.js';
import { translateSqliteError } from '../jobs/translate-sqlite-error.js';

/** Expired nonces are deleted at most this often (by whichever request comes first). */
const PURGE_EVERY_MS = 60_000;

/** Runs `purge` when PURGE_EVERY_MS passed since the last one (on the verifier's clock). */
function purgeSchedule(purge: (nowMs: number) => Promise<void> | void): (nowMs: number) => void {
  let last = -Infinity;
  return (nowMs) => {
    if (nowMs - last < PURGE_EVERY_MS) return;
    last = nowMs;
    void Promise.resolve()
      .then(() => purge(nowMs))
      .catch(() => undefined); // a failed purge is retried next time
  };
}

// One statement decides: a new nonce, or one whose entry expired, is (re)written and returned; a live one is not.
// The nonce alone is the key, whichever key id signed it (schema version 4).
const REMEMBER = `INSERT INTO engine_auth_nonces (nonce, expires_at) VALUES ($1, $2)
  ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at WHERE engine_auth_nonces.expires_at <= $3
  RETURNING 1 AS fresh`;

/**
 * Spent X-Engine-Auth nonces in the SQLite job database (table `engine_auth_nonces`), so a restart does not reopen
 * a replay window. Replay detection is the insert itself; expired rows are purged about once a minute.
 *
 * @example
 * const verifier = createTttEngineAuthVerifier(keys, now, createSqliteNonceStore(db));
 */
export function createSqliteNonceStore(db: JobDatabase): EngineAuthNonceStore {
  const remember = db.prepare(REMEMBER.replace('$1', '@nonce').replace('$2', '@expiresAt').replace('$3', '@now'));
  const seen = db.prepare('SELECT 1 FROM engine_auth_nonces WHERE nonce = ? AND expires_at > ?');
  const purge = db.prepare('DELETE FROM engine_auth_nonces WHERE expires_at <= ?');
  const schedulePurge = purgeSchedule((nowMs) => void purge.run(nowMs));
  const run = async <T>(work: () => T): Promise<T> => {
    try {
      return work();
    } catch (error) {
      throw translateSqliteError(error, 'check the X-Engine-Auth nonce');
    }
  };
  return {
    remember: (nonce, expiresAtMs, nowMs) =>
      run(() => {
        schedulePurge(nowMs);
        return remember.get({ nonce, expiresAt: expiresAtMs, now: nowMs }) !== undefined;
      }),
    seen: (nonce, nowMs) => run(() => seen.get(nonce, nowMs) !== undefined),
  };
}

/**
 * Spent X-Engine-Auth nonces in PostgreSQL, shared by every TTTranscribe replica on the database: a nonce one
 * replica accepted is `engine_auth_replayed` on all others. One statement per check (PgBouncer-safe).
 *
 * @example
 * const verifier = createTttEngineAuthVerifier(keys, now, createPgNonceStore(pool));
 */
export function createPgNonceStore(pool: pg.Pool): EngineAuthNonceStore {
  const query = async (sql: string, values: unknown[]): Promise<number> => {
    try {
      return (await pool.query(sql, values)).rowCount ?? 0;
    } catch (error) {
      throw translatePgError(error, 'check the X-Engine-Auth nonce');
    }
  };
  const schedulePurge = purgeSchedule(async (nowMs) => {
    await query('DELETE FROM engine_auth_nonces WHERE expires_at <= $1', [nowMs]);
  });
  return {
    async remember(nonce, expiresAtMs, nowMs) {
      schedulePurge(nowMs);
      return (await query(REMEMBER, [nonce, expiresAtMs, nowMs])) === 1;
    },
    async seen(nonce, nowMs) {
      return (
        (await query('SELECT 1 FROM engine_auth_nonces WHERE nonce = $1 AND expires_at > $2', [nonce, nowMs])) === 1
      );
    },
  };
}
