import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseServiceTokenKey } from '../../../../server/business-engine/config.js';
import { CreditLedger } from '../../../../server/business-engine/credits/credit-ledger.js';
import { openEngineDatabase, type EngineDatabase } from '../../../../server/business-engine/db/engine-database.js';
import { IdempotencyStore } from '../../../../server/business-engine/tokens/idempotency-store.js';
import { ServiceTokenKeys, type SignServiceToken } from '../../../../server/business-engine/tokens/service-token-keys.js';
import { TokenStore } from '../../../../server/business-engine/tokens/token-store.js';
import { MAX_VENDS_PER_COMMIT, TokenVendor, type VendRequest } from '../../../../server/business-engine/tokens/token-vendor.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';
import { createLogger } from '../../../../server/shared/logging/logger.js';
import { testServiceTokenKey } from '../../../helpers/engine-app.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');

interface World {
  readonly db: EngineDatabase;
  readonly ledger: CreditLedger;
  readonly tokens: TokenStore;
  readonly vendor: TokenVendor;
  /** Vends per committed group commit, in order. */
  readonly commits: number[];
}

async function world(options: { path?: string; sign?: (sign: SignServiceToken) => SignServiceToken } = {}): Promise<World> {
  const db = openEngineDatabase(options.path ?? ':memory:');
  const now = () => NOW;
  const ledger = new CreditLedger(db, { signupBonus: 0, now });
  const tokens = new TokenStore(db, ledger, now);
  const keys = new ServiceTokenKeys(parseServiceTokenKey(await testServiceTokenKey('vendor-test')));
  const commits: number[] = [];
  const vendor = new TokenVendor(db, {
    ledger, tokens, idempotency: new IdempotencyStore(db, now), now,
    sign: options.sign ? options.sign(keys.sign) : keys.sign,
    logger: createLogger({ service: 'vendor-test', level: 'silent' }),
    onGroupCommit: (vends) => commits.push(vends),
  });
  return { db, ledger, tokens, vendor, commits };
}

const request = (userId: string, clientRequestId: string): VendRequest => ({
  userId, clientRequestId, body: { clientRequestId }, requestId: `req_${userId}_${clientRequestId}`,
});

/** Every vend's outcome: its response or its catalog code. */
async function settle(vends: ReadonlyArray<Promise<unknown>>): Promise<Array<{ ok: true; value: unknown } | { ok: false; code: string; detail: string }>> {
  return Promise.all(vends.map((vend) => vend.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => {
      if (!isApiError(error)) throw error;
      return { ok: false as const, code: error.code, detail: error.detail };
    },
  )));
}

const charges = (w: World, userId: string) => w.ledger.page(userId, 100).filter((e) => e.kind === 'charge').length;

describe('TokenVendor group commit', () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
    w.ledger.grant('rich', 100, 'main', { reason: 'test' });
  });
  afterEach(() => {
    w.db.close();
  });

  it('commits the vends of one event-loop turn together, each answered with its own token', async () => {
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => w.vendor.vend(request('rich', `k${i}`))));
    expect(w.commits).toEqual([5]);
    expect(new Set(results.map((r) => r.response.tokenId)).size).toBe(5);
    expect(results.map((r) => r.response.balanceAfter)).toEqual([99, 98, 97, 96, 95]);
    expect(charges(w, 'rich')).toBe(5);
    for (const r of results) expect(w.tokens.get(r.response.tokenId)).toMatchObject({ state: 'vended', userId: 'rich' });
  });

  it('gives vends of later turns commits of their own', async () => {
    await w.vendor.vend(request('rich', 'a'));
    await w.vendor.vend(request('rich', 'b'));
    expect(w.commits).toEqual([1, 1]);
  });

  it('rolls back only the vend that is refused; the others in its commit stand', async () => {
    const outcomes = await settle([
      w.vendor.vend(request('rich', 'k1')),
      w.vendor.vend(request('poor', 'k1')),
      w.vendor.vend(request('rich', 'k2')),
    ]);
    expect(w.commits).toEqual([3]);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'insufficient_credits', 'ok']);
    expect(charges(w, 'rich')).toBe(2);
    expect(charges(w, 'poor')).toBe(0);
    // The refused vend took no key: once the user has credits, the same clientRequestId vends.
    w.ledger.grant('poor', 1, 'main', { reason: 'test' });
    await expect(w.vendor.vend(request('poor', 'k1'))).resolves.toMatchObject({ replayed: false, response: { balanceAfter: 0 } });
  });

  it('answers a key repeated within one commit as a replay of the first, charging once', async () => {
    const [first, second] = await Promise.all([w.vendor.vend(request('rich', 'same')), w.vendor.vend(request('rich', 'same'))]);
    expect(w.commits).toEqual([2]);
    expect(first?.replayed).toBe(false);
    expect(second).toEqual({ replayed: true, response: first?.response });
    expect(charges(w, 'rich')).toBe(1);
  });

  it(`splits more than ${MAX_VENDS_PER_COMMIT} vends over several commits`, async () => {
    const count = MAX_VENDS_PER_COMMIT + 6;
    const results = await Promise.all(Array.from({ length: count }, (_, i) => w.vendor.vend(request('rich', `bulk-${i}`))));
    expect(w.commits).toEqual([MAX_VENDS_PER_COMMIT, 6]);
    expect(results.at(-1)?.response.balanceAfter).toBe(100 - count);
  });
});

describe('TokenVendor group commit with a signer that throws for one vend', () => {
  it('fails that vend alone with internal_error and charges it nothing', async () => {
    const w = await world({
      sign: (sign) => (claims) => {
        if (claims.sub === 'unlucky') throw new Error('the signing key is unavailable');
        return sign(claims);
      },
    });
    try {
      w.ledger.grant('rich', 5, 'main', { reason: 'test' });
      w.ledger.grant('unlucky', 5, 'main', { reason: 'test' });
      const outcomes = await settle([w.vendor.vend(request('rich', 'k1')), w.vendor.vend(request('unlucky', 'k1')), w.vendor.vend(request('rich', 'k2'))]);
      expect(w.commits).toEqual([3]);
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'internal_error', 'ok']);
      expect(outcomes[1]).toMatchObject({ detail: 'The service token could not be signed; nothing was charged.' });
      expect(charges(w, 'unlucky')).toBe(0);
      expect(w.ledger.ensureUser('unlucky', null).balance).toBe(5);
      expect(charges(w, 'rich')).toBe(2);
    } finally {
      w.db.close();
    }
  });
});

describe('TokenVendor group commit when the commit itself fails', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pluct-vendor-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails every vend of that commit, writes none of them, and the same keys vend once the database is free', async () => {
    const path = join(dir, 'engine.db');
    const w = await world({ path });
    const other = new Database(path);
    try {
      w.ledger.grant('rich', 10, 'main', { reason: 'test' });
      w.db.pragma('busy_timeout = 0');
      other.exec('BEGIN IMMEDIATE'); // another writer holds the write lock
      const outcomes = await settle([w.vendor.vend(request('rich', 'k1')), w.vendor.vend(request('rich', 'k2'))]);
      expect(outcomes).toEqual([
        { ok: false, code: 'internal_error', detail: 'The database was busy and could not charge the credit; retry.' },
        { ok: false, code: 'internal_error', detail: 'The database was busy and could not charge the credit; retry.' },
      ]);
      expect(w.commits).toEqual([]);
      other.exec('ROLLBACK');
      expect(charges(w, 'rich')).toBe(0);
      const retried = await Promise.all([w.vendor.vend(request('rich', 'k1')), w.vendor.vend(request('rich', 'k2'))]);
      expect(retried.map((r) => [r.replayed, r.response.balanceAfter])).toEqual([[false, 9], [false, 8]]);
      expect(w.commits).toEqual([2]);
    } finally {
      other.close();
      w.db.close();
    }
  });
});
