import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEngineDatabase, type EngineDatabase } from '../../../../server/business-engine/db/engine-database.js';
import { hashIntegrationToken } from '../../../../server/business-engine/integrations/integration-token-format.js';
import {
  IntegrationTokenStore,
  LAST_USED_RESOLUTION_MS,
} from '../../../../server/business-engine/integrations/integration-token-store.js';
import { IntegrationTokenVerifier } from '../../../../server/business-engine/integrations/integration-token-verifier.js';
import { ApiError } from '../../../../server/shared/errors/api-error.js';
import type { IntegrationTokenRecords } from '../../../../server/business-engine/db/engine-store.js';
import { refusal } from '../../../helpers/refusal.js';

const T0 = Date.UTC(2026, 0, 1);

describe('IntegrationTokenStore and IntegrationTokenVerifier', () => {
  let db: EngineDatabase;
  let clock: { ms: number };
  let store: IntegrationTokenStore;
  let verifier: IntegrationTokenVerifier;
  beforeEach(() => {
    db = openEngineDatabase(':memory:');
    clock = { ms: T0 };
    store = new IntegrationTokenStore(db, () => clock.ms);
    // The verifier reads through the engine's async store interface; here, the same SQLite store behind it.
    const records: IntegrationTokenRecords = {
      create: async (input) => store.create(input),
      findByHash: async (hash) => store.findByHash(hash),
      listByUser: async (userId, page) => store.listByUser(userId, page),
      revoke: async (userId, id) => store.revoke(userId, id),
      touch: async (record) => store.touch(record),
    };
    verifier = new IntegrationTokenVerifier(records, () => clock.ms);
  });
  afterEach(() => db.close());

  it('stores only the SHA-256 of the token, never the token', async () => {
    const { token, record } = store.create({
      userId: 'u1',
      description: 'backend',
      scopes: ['ttt:transcribe', 'credits:read'],
      expiresAt: null,
    });
    const rows = db.prepare('SELECT * FROM integration_tokens').all() as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: record.id,
      user_id: 'u1',
      scopes: 'ttt:transcribe credits:read',
      token_hash: hashIntegrationToken(token),
      created_at: T0,
    });
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(rows)).not.toContain(token.slice(4, 30));
    expect(record.id).toMatch(/^itk_[0-9A-Z]{26}$/);
  });

  it('verifies a token to its record and refuses malformed, unknown, revoked and expired ones with details', async () => {
    const { token, record } = store.create({
      userId: 'u1',
      description: 'd',
      scopes: ['credits:read'],
      expiresAt: T0 + 3_600_000,
    });
    expect(await verifier.verify(token)).toMatchObject({ id: record.id, userId: 'u1', scopes: ['credits:read'] });
    expect(await refusal(verifier.verify('yit_short'))).toEqual({
      code: 'integration_token_malformed',
      details: { credential: 'integration_token', reason: 'wrong_length' },
    });
    const otherDb = openEngineDatabase(':memory:');
    const other = new IntegrationTokenStore(otherDb, () => clock.ms).create({
      userId: 'u1',
      description: 'd',
      scopes: ['x'],
      expiresAt: null,
    });
    otherDb.close();
    expect(await refusal(verifier.verify(other.token))).toEqual({
      code: 'integration_token_unknown',
      details: { credential: 'integration_token' },
    });

    clock.ms = T0 + 3_600_000;
    expect(await refusal(verifier.verify(token))).toEqual({
      code: 'integration_token_expired',
      details: {
        credential: 'integration_token',
        tokenId: record.id,
        expiredAt: new Date(T0 + 3_600_000).toISOString(),
        serverTime: new Date(clock.ms).toISOString(),
      },
    });
    clock.ms = T0 + 10;
    expect(store.revoke('u1', record.id)).toBe('revoked');
    expect(await refusal(verifier.verify(token))).toEqual({
      code: 'integration_token_revoked',
      details: { credential: 'integration_token', tokenId: record.id, revokedAt: new Date(T0 + 10).toISOString() },
    });
  });

  it('tells who a refused token belonged to before refusing it', async () => {
    const { token, record } = store.create({
      userId: 'u1',
      description: 'd',
      scopes: ['credits:read'],
      expiresAt: null,
    });
    store.revoke('u1', record.id);
    const seen: string[] = [];
    await expect(verifier.verify(token, (found) => seen.push(found.id))).rejects.toThrow(ApiError);
    expect(seen).toEqual([record.id]);
  });

  it("revokes idempotently and only the owner's token", async () => {
    const { record } = store.create({ userId: 'u1', description: 'd', scopes: ['a'], expiresAt: null });
    expect(store.revoke('u2', record.id)).toBe('not_found');
    expect(store.revoke('u1', 'itk_00000000000000000000000000')).toBe('not_found');
    expect(store.revoke('u1', record.id)).toBe('revoked');
    clock.ms += 5000;
    expect(store.revoke('u1', record.id)).toBe('already_revoked');
    expect(store.listByUser('u1', { limit: 100 })[0]?.revokedAt).toBe(T0);
  });

  it('writes last_used_at at most once a minute per token', async () => {
    const { token, record } = store.create({ userId: 'u1', description: 'd', scopes: ['a'], expiresAt: null });
    const updates = () =>
      (
        db.prepare('SELECT last_used_at AS t FROM integration_tokens WHERE id = ?').get(record.id) as {
          t: number | null;
        }
      ).t;
    let writes = 0;
    const touch = store.touch.bind(store);
    store.touch = (r) => {
      const wrote = touch(r);
      if (wrote) writes += 1;
      return wrote;
    };
    await verifier.verify(token);
    expect(updates()).toBe(T0);
    for (let i = 0; i < 50; i += 1) {
      clock.ms += 1000;
      await verifier.verify(token);
    }
    expect(writes).toBe(1);
    expect(updates()).toBe(T0);
    clock.ms = T0 + LAST_USED_RESOLUTION_MS;
    await verifier.verify(token);
    expect(updates()).toBe(T0 + LAST_USED_RESOLUTION_MS);
    expect(writes).toBe(2);
  });

  it('guards last_used_at in the UPDATE too: a stale record read before another write does not write again', async () => {
    const { record } = store.create({ userId: 'u1', description: 'd', scopes: ['a'], expiresAt: null });
    expect(store.touch(record)).toBe(true);
    clock.ms += 1000;
    // The same stale record (lastUsedAt null) as a concurrent request would hold.
    expect(store.touch(record)).toBe(false);
  });

  it("lists a user's tokens newest first", () => {
    const first = store.create({ userId: 'u1', description: 'first', scopes: ['a'], expiresAt: null }).record;
    clock.ms += 1;
    const second = store.create({ userId: 'u1', description: 'second', scopes: ['a', 'b'], expiresAt: T0 + 99 }).record;
    store.create({ userId: 'u2', description: 'other user', scopes: ['a'], expiresAt: null });
    expect(store.listByUser('u1', { limit: 100 }).map((r) => [r.id, r.description, r.scopes])).toEqual([
      [second.id, 'second', ['a', 'b']],
      [first.id, 'first', ['a']],
    ]);
  });
});
