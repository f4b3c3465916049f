import type { Statement } from 'better-sqlite3';
import type { EngineDatabase } from '../db/engine-database.js';
import type { IntegrationTokenPosition, IntegrationTokenRecord, RevokeOutcome } from '../db/engine-records.js';
import { withSqlite } from '../db/sqlite-errors.js';
import { newTokenId } from '../tokens/service-token-keys.js';
import { generateIntegrationToken, hashIntegrationToken } from './integration-token-format.js';

export type { IntegrationTokenPosition, IntegrationTokenRecord, RevokeOutcome } from '../db/engine-records.js';

/** last_used_at is written at most this often per token, so a busy caller does not cost a write per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

interface Row {
  id: string;
  user_id: string;
  description: string;
  scopes: string;
  created_at: number;
  last_used_at: number | null;
  expires_at: number | null;
  revoked_at: number | null;
}

/** What a new integration token is, before either store writes it. */
export interface NewIntegrationToken {
  /** The token itself: handed to the caller once, never stored. */
  readonly token: string;
  /** Its SHA-256, the only form stored. */
  readonly tokenHash: string;
  readonly record: IntegrationTokenRecord;
}

/**
 * A fresh token, its hash and its record (id `itk_…`, never used, not revoked), the same for every storage backend.
 *
 * @example
 * const { token, tokenHash, record } = newIntegrationToken({ userId, description, scopes, expiresAt: null }, Date.now());
 */
export function newIntegrationToken(
  input: { userId: string; description: string; scopes: readonly string[]; expiresAt: number | null },
  createdAt: number,
): NewIntegrationToken {
  const token = generateIntegrationToken();
  return {
    token,
    tokenHash: hashIntegrationToken(token),
    record: {
      id: newTokenId('itk_'),
      userId: input.userId,
      description: input.description,
      scopes: [...input.scopes],
      createdAt,
      lastUsedAt: null,
      expiresAt: input.expiresAt,
      revokedAt: null,
    },
  };
}

/**
 * The integration_tokens table. A token is generated here and returned once; the row keeps its SHA-256 (UNIQUE),
 * so verification is one indexed look-up by hash. Scopes are stored space-separated, like a JWT's `scope`.
 *
 * @example
 * const store = new IntegrationTokenStore(db, Date.now);
 * const { token, record } = store.create({ userId: 'u1', description: 'backend', scopes: ['ttt:transcribe'], expiresAt: null });
 * store.findByHash(hashIntegrationToken(token))?.id === record.id; // true
 */
export class IntegrationTokenStore {
  private readonly insert: Statement<[string, string, string, string, string, number, number | null]>;
  private readonly selectByHash: Statement<[string], Row>;
  private readonly selectOwned: Statement<[string, string], Row>;
  private readonly selectByUser: Statement<[string, number], Row>;
  private readonly selectByUserAfter: Statement<[string, number, number, string, number], Row>;
  private readonly setRevoked: Statement<[number, string, string]>;
  private readonly setLastUsed: Statement<[number, string, number]>;

  constructor(
    db: EngineDatabase,
    private readonly now: () => number,
  ) {
    this.insert =
      db.prepare(`INSERT INTO integration_tokens (id, user_id, description, scopes, token_hash, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const columns = 'id, user_id, description, scopes, created_at, last_used_at, expires_at, revoked_at';
    this.selectByHash = db.prepare(`SELECT ${columns} FROM integration_tokens WHERE token_hash = ?`);
    this.selectOwned = db.prepare(`SELECT ${columns} FROM integration_tokens WHERE id = ? AND user_id = ?`);
    const newestFirst = 'ORDER BY created_at DESC, id DESC LIMIT ?';
    this.selectByUser = db.prepare(`SELECT ${columns} FROM integration_tokens WHERE user_id = ? ${newestFirst}`);
    this.selectByUserAfter = db.prepare(`SELECT ${columns} FROM integration_tokens
      WHERE user_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ${newestFirst}`);
    this.setRevoked = db.prepare(
      'UPDATE integration_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL',
    );
    // The WHERE clause is the guard: two requests racing within the same minute write once.
    this.setLastUsed = db.prepare(
      'UPDATE integration_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)',
    );
  }

  /** Creates a token for a user; the returned `token` is the only copy that will ever exist. */
  create(input: { userId: string; description: string; scopes: readonly string[]; expiresAt: number | null }): {
    token: string;
    record: IntegrationTokenRecord;
  } {
    const created = newIntegrationToken(input, this.now());
    const { record } = created;
    withSqlite('create the integration token', () =>
      this.insert.run(
        record.id,
        record.userId,
        record.description,
        input.scopes.join(' '),
        created.tokenHash,
        record.createdAt,
        record.expiresAt,
      ),
    );
    return { token: created.token, record };
  }

  /** The token whose SHA-256 is `hash`, revoked or not. */
  findByHash(hash: string): IntegrationTokenRecord | undefined {
    return withSqlite('read the integration token', () => {
      const row = this.selectByHash.get(hash);
      return row && toRecord(row);
    });
  }

  /** A page of the user's tokens, newest first: at most `limit`, starting after `after` when given. */
  listByUser(userId: string, page: { limit: number; after?: IntegrationTokenPosition }): IntegrationTokenRecord[] {
    if (!Number.isInteger(page.limit) || page.limit < 1)
      throw new Error('listByUser: limit must be a whole number >= 1');
    const after = page.after;
    return withSqlite('list the integration tokens', () =>
      (after
        ? this.selectByUserAfter.all(userId, after.createdAt, after.createdAt, after.id, page.limit)
        : this.selectByUser.all(userId, page.limit)
      ).map(toRecord),
    );
  }

  /** Revokes a token of this user at once (idempotent: revoking twice keeps the first time). */
  revoke(userId: string, id: string): RevokeOutcome {
    return withSqlite('revoke the integration token', () => {
      if (this.setRevoked.run(this.now(), id, userId).changes === 1) return 'revoked';
      return this.selectOwned.get(id, userId) ? 'already_revoked' : 'not_found';
    });
  }

  /**
   * Records a use, but writes only when the stored last_used_at is at least a minute old (checked first against
   * the record just read, then in the UPDATE's WHERE clause). Returns whether a row was written.
   */
  touch(record: IntegrationTokenRecord): boolean {
    const now = this.now();
    if (record.lastUsedAt !== null && now - record.lastUsedAt < LAST_USED_RESOLUTION_MS) return false;
    return withSqlite(
      'record the integration token use',
      () => this.setLastUsed.run(now, record.id, now - LAST_USED_RESOLUTION_MS).changes === 1,
    );
  }
}

function toRecord(r: Row): IntegrationTokenRecord {
  return {
    id: r.id,
    userId: r.user_id,
    description: r.description,
    scopes: r.scopes.split(' ').filter((s) => s !== ''),
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}
