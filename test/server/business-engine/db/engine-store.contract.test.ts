import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { EngineStore } from '../../../../server/business-engine/db/engine-store.js';
import { SigningFailed } from '../../../../server/business-engine/db/engine-store.js';
import { openPostgresEngineStore } from '../../../../server/business-engine/store/postgres-engine-store.js';
import { openSqliteEngineStore } from '../../../../server/business-engine/store/sqlite-engine-store.js';
import { parseServiceTokenKey } from '../../../../server/business-engine/config.js';
import {
  ServiceTokenKeys,
  type SignServiceToken,
} from '../../../../server/business-engine/tokens/service-token-keys.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';
import { testServiceTokenKey } from '../../../helpers/engine-app.js';
import { createTestDatabase } from '../../../helpers/postgres.js';

/*
 * ONE contract for the engine's storage, run against both implementations: SQLite (the embedded default) and
 * PostgreSQL (a fresh database of the run's throwaway cluster for each store).
 */
const T0 = Date.UTC(2026, 0, 1);
const clock = { ms: T0 };
const now = () => clock.ms;
const keys = new ServiceTokenKeys(parseServiceTokenKey(await testServiceTokenKey('contract')));
const sign: SignServiceToken = keys.sign;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Factory = (signupBonus?: number) => Promise<EngineStore>;
const backends: Array<[string, Factory]> = [
  [
    'sqlite',
    async (signupBonus = 3) => {
      const store = openSqliteEngineStore(':memory:', { signupBonus, now });
      cleanups.push(() => store.close());
      return store;
    },
  ],
  [
    'postgres',
    async (signupBonus = 3) => {
      const db = await createTestDatabase('engine_store');
      const store = await openPostgresEngineStore(db.url, { signupBonus, now, poolMax: 10 });
      cleanups.push(async () => {
        await store.close();
        await db.drop();
      });
      return store;
    },
  ],
];

let n = 0;
const vendInput = (userId: string, clientRequestId = `k${(n += 1)}`, bodyHash = 'h1') => ({
  userId,
  clientRequestId,
  bodyHash,
  requestId: `req_${n}`,
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (isApiError(error)) return error.code;
  if (error instanceof SigningFailed) return 'signing_failed';
  throw new Error(`expected a refusal, got ${String(error)}`);
}

describe.each(backends)('EngineStore contract: %s', (_name, open) => {
  let store: EngineStore;
  beforeEach(async () => {
    clock.ms = T0;
    store = await open();
  });

  it('creates a user with the signup bonus exactly once, even when first seen by many requests at once', async () => {
    const balances = await Promise.all(Array.from({ length: 10 }, () => store.ledger.ensureUser('u1', 'req_1')));
    expect(balances.map((b) => b.balance)).toEqual(Array(10).fill(3));
    expect(await store.ledger.ensureUser('u1', null)).toEqual({
      userId: 'u1',
      main: 0,
      bonus: 3,
      balance: 3,
      updatedAt: T0,
    });
    expect((await store.ledger.page('u1', 10)).map((e) => [e.kind, e.reason, e.amount])).toEqual([
      ['grant', 'signup_bonus', 3],
    ]);
  });

  it('grants, and pages the ledger newest first before a cursor', async () => {
    for (let i = 0; i < 4; i++) await store.ledger.grant('u1', 2, 'main', { reason: `g${i}`, requestId: 'req_g' });
    const { balance } = await store.ledger.grant('u1', 1, 'bonus', { reason: 'g4' });
    expect(balance).toMatchObject({ main: 8, bonus: 4, balance: 12 });
    const first = await store.ledger.page('u1', 2);
    expect(first.map((e) => [e.reason, e.balanceAfter])).toEqual([
      ['g4', 12],
      ['g3', 11],
    ]);
    expect((await store.ledger.page('u1', 10, first[1]!.id)).map((e) => e.reason)).toEqual([
      'g2',
      'g1',
      'g0',
      'signup_bonus',
    ]);
  });

  it('grants once per clientRequestId: the same body replays the first grant, another body is refused', async () => {
    const key = { clientRequestId: 'purchase-42', bodyHash: 'h1' };
    const first = await store.ledger.grant('u1', 10, 'main', { reason: 'purchase 42' }, key);
    expect(first).toMatchObject({ replayed: false, balance: { main: 10, bonus: 3, balance: 13 } });
    clock.ms = T0 + 1000;
    await store.ledger.grant('u1', 1, 'main', { reason: 'another' }); // no key: grants every time
    const again = await store.ledger.grant('u1', 10, 'main', { reason: 'purchase 42' }, key);
    // The first grant's answer: its entry and the balance it left, not today's.
    expect(again).toEqual({ ...first, replayed: true, balance: { ...first.balance, updatedAt: T0 } });
    expect(
      await codeOf(store.ledger.grant('u1', 99, 'main', { reason: 'purchase 42' }, { ...key, bodyHash: 'h2' })),
    ).toBe('idempotency_key_reused');
    expect(await codeOf(store.ledger.grant('u2', 10, 'main', { reason: 'purchase 42' }, key))).toBe(
      'idempotency_key_reused',
    );
    const grants = (await store.ledger.page('u1', 10)).filter((e) => e.kind === 'grant' && e.reason !== 'signup_bonus');
    expect(grants.map((e) => e.amount)).toEqual([1, 10]);
    expect((await store.ledger.ensureUser('u1', null)).balance).toBe(14);
    expect((await store.ledger.page('u2', 10)).filter((e) => e.reason === 'purchase 42')).toEqual([]);
    // Many at once with one key: one grant.
    const racing = await Promise.all(
      Array.from({ length: 8 }, () =>
        store.ledger.grant('u3', 5, 'main', { reason: 'race' }, { clientRequestId: 'race-1', bodyHash: 'h' }),
      ),
    );
    expect(racing.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(racing.map((r) => r.entry.id)).size).toBe(1);
    expect((await store.ledger.page('u3', 10)).filter((e) => e.reason === 'race')).toHaveLength(1);
  });

  it('vends in one transaction: bonus first, the token recorded, the answer replayed for the same key and body', async () => {
    await store.ledger.grant('u1', 1, 'main', { reason: 'g' });
    const first = await store.vend(vendInput('u1', 'same'), sign);
    expect(first.replayed).toBe(false);
    expect(first.response).toMatchObject({ ok: true, balanceAfter: 3, tokenId: expect.stringMatching(/^tok_/) });
    expect(await store.tokens.get(first.response.tokenId)).toMatchObject({
      userId: 'u1',
      state: 'vended',
      bucket: 'bonus',
      issuedAt: T0,
      expiresAt: T0 + 900_000,
    });
    expect(await store.vend(vendInput('u1', 'same'), sign)).toEqual({ response: first.response, replayed: true });
    expect(await codeOf(store.vend(vendInput('u1', 'same', 'other-body'), sign))).toBe('idempotency_key_reused');
    expect((await store.ledger.page('u1', 10)).filter((e) => e.kind === 'charge')).toHaveLength(1);
  });

  it('writes nothing for a refused vend: no credits, or a signer that throws', async () => {
    const poor = await open(0);
    expect(await codeOf(poor.vend(vendInput('poor', 'p1'), sign))).toBe('insufficient_credits');
    const failing: SignServiceToken = () => {
      throw new Error('TEST-ONLY: no key');
    };
    await store.ledger.ensureUser('u1', null);
    expect(await codeOf(store.vend(vendInput('u1', 'f1'), failing))).toBe('signing_failed');
    expect((await store.ledger.page('u1', 10)).map((e) => e.kind)).toEqual(['grant']);
    expect((await store.vend(vendInput('u1', 'f1'), sign)).replayed).toBe(false);
  });

  it('gives N parallel vends on a balance of B exactly min(N, B) tokens and never a negative balance', async () => {
    const user = 'racer';
    await store.ledger.grant(user, 7, 'main', { reason: 'g' });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.vend(vendInput(user, `race-${i}`), sign).then(
          () => 'ok',
          (e: unknown) => (isApiError(e) ? e.code : 'other'),
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'insufficient_credits')).toHaveLength(10);
    expect((await store.ledger.ensureUser(user, null)).balance).toBe(0);
    expect(Math.min(...(await store.ledger.page(user, 100)).map((e) => e.balanceAfter))).toBe(0);
  });

  it('moves a token through its states, each change at most once, and refunds once with its ledger entry', async () => {
    const { response } = await store.vend(vendInput('u1'), sign);
    const jti = response.tokenId;
    const claims = await Promise.all([store.tokens.claim(jti, 'sub_A'), store.tokens.claim(jti, 'sub_B')]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const key = (await store.tokens.get(jti))!.submissionKey;
    expect(['sub_A', 'sub_B']).toContain(key);
    expect(await store.tokens.release(jti)).toBe(true);
    expect(await store.tokens.claim(jti, 'sub_C')).toBe(true);
    clock.ms = T0 + 10;
    expect(await store.tokens.markSubmitted(jti, 'job_CONTRACT01')).toBe(true);
    expect(await store.tokens.markSubmitted(jti, 'job_CONTRACT02')).toBe(false);
    expect(await store.tokens.byJob('job_CONTRACT01')).toMatchObject({
      jti,
      state: 'submitted',
      submittedAt: T0 + 10,
      submissionKey: 'sub_C',
    });
    const refunds = await Promise.all(
      [1, 2, 3].map(() =>
        store.tokens.refund(jti, 'submitted', { reason: 'job_failed:media_fetch_failed', requestId: 'req_r' }),
      ),
    );
    expect(refunds.filter(Boolean)).toHaveLength(1);
    expect(await store.tokens.consume(jti)).toBe(false);
    expect(await store.tokens.get(jti)).toMatchObject({
      state: 'refunded',
      refundReason: 'job_failed:media_fetch_failed',
      settledAt: T0 + 10,
      jobId: 'job_CONTRACT01',
    });
    const entries = await store.ledger.page('u1', 10);
    expect(entries.filter((e) => e.kind === 'refund').map((e) => [e.tokenId, e.jobId, e.amount, e.bucket])).toEqual([
      [jti, 'job_CONTRACT01', 1, 'bonus'],
    ]);
    expect((await store.ledger.ensureUser('u1', null)).balance).toBe(3);
  });

  it('resumes a submission with its key (a new last change), which a refund conditional on the old one then leaves alone', async () => {
    const jti = (await store.vend(vendInput('u1'), sign)).response.tokenId;
    await store.tokens.claim(jti, 'sub_R');
    const seen = (await store.tokens.get(jti))!;
    expect(await store.tokens.resume(jti, 'sub_OTHER')).toBe(false);
    expect(await store.tokens.resume(jti, 'sub_R')).toBe(true); // same millisecond: still a change
    expect(
      await store.tokens.refund(jti, 'submitting', {
        reason: 'submission_interrupted',
        requestId: null,
        unchangedSince: seen.updatedAt,
      }),
    ).toBe(false);
    const now = (await store.tokens.get(jti))!;
    expect(now).toMatchObject({ state: 'submitting', submissionKey: 'sub_R' });
    expect(now.updatedAt).toBeGreaterThan(seen.updatedAt);
    expect(
      await store.tokens.refund(jti, 'submitting', {
        reason: 'submission_interrupted',
        requestId: null,
        unchangedSince: now.updatedAt,
      }),
    ).toBe(true);
    expect(await store.tokens.resume(jti, 'sub_R')).toBe(false);
  });

  it('lists expired unused tokens, stuck submissions and unsettled jobs for the sweep', async () => {
    const a = (await store.vend(vendInput('u1'), sign)).response.tokenId;
    const b = (await store.vend(vendInput('u1'), sign)).response.tokenId;
    const c = (await store.vend(vendInput('u1'), sign)).response.tokenId;
    clock.ms = T0 + 100;
    await store.tokens.claim(b, 'sub_B');
    await store.tokens.claim(c, 'sub_C');
    await store.tokens.markSubmitted(c, 'job_UNSETTLED1');
    expect((await store.tokens.expiredUnused(T0 + 900_000, 10)).map((t) => t.jti)).toEqual([a]);
    expect(await store.tokens.expiredUnused(T0 + 899_999, 10)).toEqual([]);
    expect((await store.tokens.stuckSubmitting(T0 + 100, 10)).map((t) => t.jti)).toEqual([b]);
    expect(await store.tokens.stuckSubmitting(T0 + 99, 10)).toEqual([]);
    expect((await store.tokens.unsettled(10)).map((t) => t.jti)).toEqual([c]);
    expect(await store.tokens.unsettled(10, { submittedAt: T0 + 100, jti: c })).toEqual([]);
  });

  it('keeps integration tokens by hash: create, find, list, revoke once, touch at most once a minute', async () => {
    const { token, record } = await store.integrationTokens.create({
      userId: 'u1',
      description: 'backend',
      scopes: ['credits:read'],
      expiresAt: null,
    });
    const { createHash } = await import('node:crypto');
    const hash = createHash('sha256').update(token).digest('hex');
    expect(await store.integrationTokens.findByHash(hash)).toEqual(record);
    expect((await store.integrationTokens.listByUser('u1', { limit: 10 })).map((r) => r.id)).toEqual([record.id]);
    expect(
      await store.integrationTokens.listByUser('u1', {
        limit: 10,
        after: { createdAt: record.createdAt, id: record.id },
      }),
    ).toEqual([]);
    expect(await store.integrationTokens.touch(record)).toBe(true);
    const touched = (await store.integrationTokens.findByHash(hash))!;
    expect(touched.lastUsedAt).toBe(T0);
    clock.ms = T0 + 30_000;
    expect(await store.integrationTokens.touch(touched)).toBe(false);
    expect(await store.integrationTokens.revoke('u2', record.id)).toBe('not_found');
    expect(await store.integrationTokens.revoke('u1', record.id)).toBe('revoked');
    expect(await store.integrationTokens.revoke('u1', record.id)).toBe('already_revoked');
  });
});
