import type { Statement } from 'better-sqlite3';
import type { EngineDatabase } from '../db/engine-database.js';
import { withSqlite } from '../db/sqlite-errors.js';

/** A vend request's idempotency record: the body it came with, and its answer once there is one. */
export interface IdempotencyRecord {
  readonly userId: string;
  readonly clientRequestId: string;
  readonly bodyHash: string;
  readonly state: 'in_progress' | 'done';
  readonly tokenJti: string | null;
  readonly responseJson: string | null;
  readonly createdAt: number;
}

interface Row {
  user_id: string; client_request_id: string; body_hash: string; state: 'in_progress' | 'done'; token_jti: string | null;
  response_json: string | null; created_at: number;
}

/**
 * (user, clientRequestId) -> body hash, state and stored answer. The `In` methods run inside the caller's
 * transaction, so the key is taken in the same transaction as the charge.
 *
 * @example
 * const existing = idempotency.findIn(userId, clientRequestId);
 * if (!existing) idempotency.insertIn({ userId, clientRequestId, bodyHash, tokenJti });
 */
export class IdempotencyStore {
  private readonly select: Statement<[string, string], Row>;
  private readonly insert: Statement<[string, string, string, string | null, number, number]>;
  private readonly insertDone: Statement<[string, string, string, string, string, number, number]>;
  private readonly finish: Statement<[string, number, string, string, string]>;
  private readonly remove: Statement<[string, string]>;
  private readonly selectStale: Statement<[number, number], Row>;

  constructor(db: EngineDatabase, private readonly now: () => number) {
    this.select = db.prepare('SELECT * FROM idempotency_keys WHERE user_id = ? AND client_request_id = ?');
    this.insert = db.prepare(`INSERT INTO idempotency_keys (user_id, client_request_id, body_hash, state, token_jti, created_at, updated_at)
      VALUES (?, ?, ?, 'in_progress', ?, ?, ?)`);
    this.insertDone = db.prepare(`INSERT INTO idempotency_keys (user_id, client_request_id, body_hash, state, token_jti, response_json, created_at, updated_at)
      VALUES (?, ?, ?, 'done', ?, ?, ?, ?)`);
    this.finish = db.prepare(`UPDATE idempotency_keys SET state = 'done', response_json = ?, updated_at = ?
      WHERE user_id = ? AND client_request_id = ? AND state = 'in_progress' AND token_jti = ?`);
    this.remove = db.prepare('DELETE FROM idempotency_keys WHERE user_id = ? AND client_request_id = ?');
    this.selectStale = db.prepare(`SELECT * FROM idempotency_keys WHERE state = 'in_progress' AND created_at <= ? LIMIT ?`);
  }

  findIn(userId: string, clientRequestId: string): IdempotencyRecord | undefined {
    const row = this.select.get(userId, clientRequestId);
    return row && {
      userId: row.user_id, clientRequestId: row.client_request_id, bodyHash: row.body_hash, state: row.state,
      tokenJti: row.token_jti, responseJson: row.response_json, createdAt: row.created_at,
    };
  }

  insertIn(record: { userId: string; clientRequestId: string; bodyHash: string; tokenJti: string }): void {
    const now = this.now();
    this.insert.run(record.userId, record.clientRequestId, record.bodyHash, record.tokenJti, now, now);
  }

  /** Takes the key already answered (the vend signed inside its transaction). */
  insertDoneIn(record: { userId: string; clientRequestId: string; bodyHash: string; tokenJti: string; responseJson: string }): void {
    const now = this.now();
    this.insertDone.run(record.userId, record.clientRequestId, record.bodyHash, record.tokenJti, record.responseJson, now, now);
  }

  removeIn(userId: string, clientRequestId: string): void {
    this.remove.run(userId, clientRequestId);
  }

  /**
   * Stores the answer to replay and marks the key done; only for the vend that took the key (a vend the sweep
   * already abandoned must not overwrite a later request's answer).
   */
  complete(userId: string, clientRequestId: string, tokenJti: string, responseJson: string): boolean {
    return withSqlite('store the idempotent answer', () => this.finish.run(responseJson, this.now(), userId, clientRequestId, tokenJti).changes === 1);
  }

  /** Keys still in progress that were taken at or before `before` (ms): a crash between charge and answer. */
  stale(before: number, limit: number): IdempotencyRecord[] {
    return withSqlite('list stale idempotency keys', () =>
      this.selectStale.all(before, limit).map((row) => ({
        userId: row.user_id, clientRequestId: row.client_request_id, bodyHash: row.body_hash, state: row.state,
        tokenJti: row.token_jti, responseJson: row.response_json, createdAt: row.created_at,
      })),
    );
  }
}
