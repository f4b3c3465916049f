import type pg from 'pg';
import type { EngineStore } from '../db/engine-store.js';
import { runQuery } from '../db/postgres-pool.js';
import { LAST_USED_RESOLUTION_MS, newIntegrationToken } from '../integrations/integration-token-store.js';
import { toIntegrationRecord } from './postgres-rows.js';

/**
 * Integration tokens on PostgreSQL: kept by the hash of the token (never the token), one statement per operation,
 * a revocation and a last-use mark each a conditional UPDATE, so they happen at most once across replicas.
 *
 * @example
 * const integrationTokens = postgresIntegrationTokens(pool, Date.now);
 * const { token, record } = await integrationTokens.create({ userId, description, scopes, expiresAt: null });
 */
export function postgresIntegrationTokens(pool: pg.Pool, now: () => number): EngineStore['integrationTokens'] {
  const query = (what: string, sql: string, values: unknown[]) => runQuery(pool, what, sql, values);
  const changed = async (what: string, sql: string, values: unknown[]) =>
    (await query(what, sql, values)).rowCount === 1;
  const columns = 'id, user_id, description, scopes, created_at, last_used_at, expires_at, revoked_at';
  return {
    create: async (input) => {
      const created = newIntegrationToken(input, now());
      const { record } = created;
      await query(
        'create the integration token',
        `INSERT INTO integration_tokens (id, user_id, description, scopes, token_hash, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          record.id,
          record.userId,
          record.description,
          input.scopes.join(' '),
          created.tokenHash,
          record.createdAt,
          record.expiresAt,
        ],
      );
      return { token: created.token, record };
    },
    findByHash: async (hash) => {
      const row = (
        await query('read the integration token', `SELECT ${columns} FROM integration_tokens WHERE token_hash = $1`, [
          hash,
        ])
      ).rows[0];
      return row ? toIntegrationRecord(row) : undefined;
    },
    listByUser: async (userId, page) => {
      if (!Number.isInteger(page.limit) || page.limit < 1)
        throw new Error('listByUser: limit must be a whole number >= 1');
      const { after } = page;
      const rows = after
        ? await query(
            'list the integration tokens',
            `SELECT ${columns} FROM integration_tokens
            WHERE user_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) ORDER BY created_at DESC, id DESC LIMIT $4`,
            [userId, after.createdAt, after.id, page.limit],
          )
        : await query(
            'list the integration tokens',
            `SELECT ${columns} FROM integration_tokens
            WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
            [userId, page.limit],
          );
      return rows.rows.map(toIntegrationRecord);
    },
    revoke: async (userId, id) => {
      if (
        await changed(
          'revoke the integration token',
          'UPDATE integration_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL',
          [now(), id, userId],
        )
      )
        return 'revoked';
      const owned = await query(
        'revoke the integration token',
        'SELECT 1 FROM integration_tokens WHERE id = $1 AND user_id = $2',
        [id, userId],
      );
      return owned.rows.length > 0 ? 'already_revoked' : 'not_found';
    },
    touch: async (record) => {
      const at = now();
      if (record.lastUsedAt !== null && at - record.lastUsedAt < LAST_USED_RESOLUTION_MS) return false;
      return changed(
        'record the integration token use',
        'UPDATE integration_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)',
        [at, record.id, at - LAST_USED_RESOLUTION_MS],
      );
    },
  };
}
