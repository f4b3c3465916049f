import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServiceTokenKey } from '../../../../server/business-engine/config.js';
import {
  openPostgresEngineStore,
  type PostgresEngineStore,
} from '../../../../server/business-engine/store/postgres-engine-store.js';
import { ServiceTokenKeys } from '../../../../server/business-engine/tokens/service-token-keys.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';
import { testServiceTokenKey } from '../../../helpers/engine-app.js';
import { createTestDatabase } from '../../../helpers/postgres.js';
import { startCutProxy } from '../../../helpers/tcp-cut-proxy.js';

/*
 * The PostgreSQL engine sends the vends of one event-loop turn as one statement (engine_vend_many). Every vend in
 * it must come out exactly as it would alone: its own outcome, its own error, nothing written for a failed one.
 */
const T0 = Date.UTC(2026, 0, 1);
const sign = new ServiceTokenKeys(parseServiceTokenKey(await testServiceTokenKey('batch'))).sign;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function openStore(prefix: string, options: { signupBonus?: number } = {}) {
  const db = await createTestDatabase(prefix);
  const store = await openPostgresEngineStore(db.url, {
    signupBonus: options.signupBonus ?? 0,
    now: () => T0,
    poolMax: 4,
  });
  cleanups.unshift(() => store.close(), db.drop);
  return { store, url: db.url };
}

/** Counts the statements the store sends, by the function they call. */
function countStatements(store: PostgresEngineStore): { batches: number; singles: number } {
  const counts = { batches: 0, singles: 0 };
  const query = store.pool.query.bind(store.pool) as (text: unknown, values?: unknown) => Promise<unknown>;
  (store.pool as unknown as { query: typeof query }).query = (text, values) => {
    if (typeof text === 'string' && text.includes('engine_vend_many(')) counts.batches += 1;
    else if (typeof text === 'string' && text.includes('engine_vend(')) counts.singles += 1;
    return query(text, values);
  };
  return counts;
}

const vendOf = (store: PostgresEngineStore, userId: string, key: string, bodyHash = 'h') =>
  store.vend({ userId, clientRequestId: key, bodyHash, requestId: `req_${key}` }, sign).then(
    (r) => ({
      ok: true as const,
      tokenId: r.response.tokenId,
      balanceAfter: r.response.balanceAfter,
      replayed: r.replayed,
    }),
    (e: unknown) => ({
      ok: false as const,
      code: isApiError(e) ? e.code : `unexpected: ${String(e)}`,
      details: isApiError(e) ? e.details : undefined,
    }),
  );

describe('vends of one turn in one statement', () => {
  it('answers each vend of a mixed batch as it would alone, with one statement for all of them', async () => {
    const { store, url } = await openStore('batch_mixed');
    await store.ledger.grant('rich', 5, 'main', { reason: 'test' });
    await store.ledger.grant('one', 1, 'main', { reason: 'test' });
    await store.vend({ userId: 'rich', clientRequestId: 'earlier', bodyHash: 'h', requestId: 'r0' }, sign);
    // Another replica holds a key of 'rich' right now.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    cleanups.unshift(() => other.end());
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['rich', 'held']);
    const counts = countStatements(store);

    const results = await Promise.all([
      vendOf(store, 'rich', 'a'),
      vendOf(store, 'one', 'b'),
      vendOf(store, 'rich', 'a'), // the same key again in the same batch: the first's answer, replayed
      vendOf(store, 'one', 'c'), // 'one' has spent its only credit on 'b'
      vendOf(store, 'rich', 'earlier'), // a key from an earlier statement
      vendOf(store, 'rich', 'earlier', 'other-body'),
      vendOf(store, 'rich', 'held'),
      vendOf(store, 'nobody', 'd'), // never seen, no signup bonus
    ]);
    await other.query('ROLLBACK');

    expect(counts).toEqual({ batches: 1, singles: 0 });
    const [a, b, again, c, earlier, reused, held, nobody] = results;
    expect(a).toMatchObject({ ok: true, balanceAfter: 3, replayed: false });
    expect(b).toMatchObject({ ok: true, balanceAfter: 0, replayed: false });
    expect(again).toEqual({ ...a, replayed: true });
    expect(c).toMatchObject({ ok: false, code: 'insufficient_credits', details: { balance: 0, required: 1 } });
    expect(earlier).toMatchObject({ ok: true, balanceAfter: 4, replayed: true });
    expect(reused).toMatchObject({ ok: false, code: 'idempotency_key_reused' });
    expect(held).toMatchObject({ ok: false, code: 'idempotency_in_progress' });
    expect(nobody).toMatchObject({ ok: false, code: 'insufficient_credits', details: { balance: 0 } });
    expect((await store.ledger.ensureUser('rich', null)).balance).toBe(3);
    const charges = (await store.ledger.page('rich', 50)).filter((e) => e.kind === 'charge');
    expect(charges).toHaveLength(2);
    // The held key was never charged: free now, it vends as new.
    expect(await vendOf(store, 'rich', 'held')).toMatchObject({ ok: true, replayed: false, balanceAfter: 2 });
  });

  it('takes back only the failed vend of a batch, and sends it again alone for its own error', async () => {
    const { store, url } = await openStore('batch_failure');
    for (const user of ['u1', 'broken', 'u2']) await store.ledger.grant(user, 3, 'main', { reason: 'test' });
    // A ledger that refuses one user's charge: the failure happens after that vend's balance was already lowered.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query(`CREATE FUNCTION refuse_broken() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.user_id = 'broken' AND NEW.kind = 'charge' THEN RAISE EXCEPTION 'TEST-ONLY: refused'; END IF;
        RETURN NEW; END $$`);
      await admin.query(
        'CREATE TRIGGER refuse_broken BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION refuse_broken()',
      );
    } finally {
      await admin.end();
    }
    const counts = countStatements(store);
    const results = await Promise.all([
      vendOf(store, 'u1', 'k1'),
      vendOf(store, 'broken', 'k2'),
      vendOf(store, 'u2', 'k3'),
    ]);

    expect(results.map((r) => (r.ok ? r.balanceAfter : r.code))).toEqual([2, 'internal_error', 2]);
    expect(counts).toEqual({ batches: 1, singles: 1 });
    expect((await store.ledger.ensureUser('broken', null)).balance).toBe(3);
    expect((await store.ledger.page('broken', 10)).map((e) => e.kind)).toEqual(['grant']);
    const { rows } = await store.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM service_tokens WHERE user_id = 'broken'",
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('sends a batch the database refuses as a whole again vend by vend, so only the vend that carried it fails', async () => {
    const { store } = await openStore('batch_refused');
    for (const user of ['fine-1', 'fine-2']) await store.ledger.grant(user, 2, 'main', { reason: 'test' });
    const counts = countStatements(store);
    // A user id PostgreSQL cannot hold as text (the JWT verifier refuses such a sub; the store must still cope).
    const results = await Promise.all([
      vendOf(store, 'fine-1', 'k1'),
      vendOf(store, 'nul\u0000', 'k2'),
      vendOf(store, 'fine-2', 'k3'),
    ]);
    expect(results.map((r) => (r.ok ? r.balanceAfter : r.code))).toEqual([1, 'internal_error', 1]);
    expect(counts).toEqual({ batches: 1, singles: 3 });
  });

  it('splits a turn of more than 32 vends into statements, and one key in two of them still charges once', async () => {
    const { store } = await openStore('batch_split');
    await store.ledger.grant('many', 100, 'main', { reason: 'test' });
    const counts = countStatements(store);
    const keys = Array.from({ length: 40 }, (_, i) => (i === 35 ? 'key-0' : `key-${i}`));
    const results = await Promise.all(keys.map((key) => vendOf(store, 'many', key)));
    expect(counts).toEqual({ batches: 2, singles: 0 });
    const [first, second] = [results[0], results[35]];
    expect(first).toMatchObject({ ok: true, replayed: false });
    // The second statement ran while the first held the key (in progress) or after it committed (its answer again).
    if (second?.ok) expect(second).toEqual({ ...first, replayed: true });
    else expect(second).toMatchObject({ code: 'idempotency_in_progress' });
    expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(39);
    expect((await store.ledger.ensureUser('many', null)).balance).toBe(61);
  });

  it('never deadlocks two batches that name the same users in opposite orders', async () => {
    const { store: a, url } = await openStore('batch_order');
    const b = await openPostgresEngineStore(url, { signupBonus: 0, now: () => T0, poolMax: 4 });
    cleanups.unshift(() => b.close());
    const users = Array.from({ length: 12 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
    for (const user of users) await a.ledger.grant(user, 100, 'main', { reason: 'test' });
    const [countsA, countsB] = [countStatements(a), countStatements(b)];
    for (let round = 0; round < 5; round += 1) {
      const results = await Promise.all([
        ...users.map((u) => vendOf(a, u, `a-${round}`)),
        ...[...users].reverse().map((u) => vendOf(b, u, `b-${round}`)),
      ]);
      expect(results.every((r) => r.ok)).toBe(true);
    }
    // Had a deadlock hit a vend inside a batch, that vend would have been sent again alone.
    expect([countsA.singles, countsB.singles]).toEqual([0, 0]);
    expect(countsA.batches + countsB.batches).toBeGreaterThanOrEqual(10);
    for (const user of users) expect((await a.ledger.ensureUser(user, null)).balance).toBe(90);
  });

  it('fails every vend of a batch the database never answered with 503, and charges none of them', async () => {
    const db = await createTestDatabase('batch_lost');
    const url = new URL(db.url);
    const proxy = await startCutProxy(Number(url.port));
    url.port = String(proxy.port);
    const store = await openPostgresEngineStore(url.toString(), {
      signupBonus: 0,
      now: () => T0,
      poolMax: 2,
      connectionTimeoutMs: 500,
    });
    cleanups.unshift(
      () => store.close(),
      () => proxy.close(),
      db.drop,
    );
    await store.ledger.grant('lost', 10, 'main', { reason: 'test' });
    const counts = countStatements(store);
    await proxy.cut();
    const results = await Promise.all(['x1', 'x2', 'x3', 'x4'].map((k) => vendOf(store, 'lost', k)));
    expect(results.map((r) => (r.ok ? 'ok' : r.code))).toEqual(Array.from({ length: 4 }, () => 'service_unavailable'));
    expect(counts).toEqual({ batches: 1, singles: 0 });
    await proxy.restore();
    expect((await store.ledger.ensureUser('lost', null)).balance).toBe(10);
    const again = await Promise.all(['x1', 'x2', 'x3', 'x4'].map((k) => vendOf(store, 'lost', k)));
    expect(again.map((r) => (r.ok ? r.replayed : r.code))).toEqual([false, false, false, false]);
    expect((await store.ledger.ensureUser('lost', null)).balance).toBe(6);
  });
});
