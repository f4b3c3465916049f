import type { Statement } from 'better-sqlite3';
import type { EngineDatabase } from '../db/engine-database.js';

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
  user_id: string;
  client_request_id: string;
  body_hash: string;
  state: 'in_progress' | 'done';
  token_jti: string | null;
  response_json: string | null;
  created_at: number;
}

/**
 * (user, clientRequestId) -> body hash, state and stored answer. The `In` methods run inside the caller's
 * transaction, so the key is taken in the same transaction as the charge.
 *
 * @example
 * const existing = idempotency.findIn(userId, clientRequestId);
 * if (!existing) idempotency.insertDoneIn({ userId, clientRequestId, bodyHash, tokenJti, responseJson });
 */
export class IdempotencyStore {
  private readonly select: Statement<[string, string], Row>;
  private readonly insertDone: Statement<[string, string, string, string, string, number, number]>;

  constructor(
    db: EngineDatabase,
    private readonly now: () => number,
  ) {
    this.select = db.prepare('SELECT * FROM idempotency_keys WHERE user_id = ? AND client_request_id = ?');
    this.insertDone =
      db.prepare(`INSERT INTO idempotency_keys (user_id, client_request_id, body_hash, state, token_jti, response_json, created_at, updated_at)
      VALUES (?, ?, ?, 'done', ?, ?, ?, ?)`);
  }

  findIn(userId: string, clientRequestId: string): IdempotencyRecord | undefined {
    const row = this.select.get(userId, clientRequestId);
    return (
      row && {
        userId: row.user_id,
        clientRequestId: row.client_request_id,
        bodyHash: row.body_hash,
        state: row.state,
        tokenJti: row.token_jti,
        responseJson: row.response_json,
        createdAt: row.created_at,
      }
    );
  }

  /** Takes the key with its answer (inside the vend's transaction). */
  insertDoneIn(record: {
    userId: string;
    clientRequestId: string;
    bodyHash: string;
    tokenJti: string;
    responseJson: string;
  }): void {
    const now = this.now();
    this.insertDone.run(
      record.userId,
      record.clientRequestId,
      record.bodyHash,
      record.tokenJti,
      record.responseJson,
      now,
      now,
    );
  }
}
