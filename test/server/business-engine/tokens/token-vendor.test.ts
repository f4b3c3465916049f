import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseServiceTokenKey } from '../../../../server/business-engine/config.js';
import type { CreditLedger } from '../../../../server/business-engine/credits/credit-ledger.js';
import { SqliteEngineStore } from '../../../../server/business-engine/store/sqlite-engine-store.js';
import { openEngineDatabase, type EngineDatabase } from '../../../../server/business-engine/db/engine-database.js';
import {
  ServiceTokenKeys,
  type SignServiceToken,
} from '../../../../server/business-engine/tokens/service-token-keys.js';
import type { TokenStore } from '../../../../server/business-engine/tokens/token-store.js';
import { TokenVendor, type VendRequest } from '../../../../server/business-engine/tokens/token-vendor.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';
import { createLogger } from '../../../../server/shared/logging/logger.js';
import { testServiceTokenKey } from '../../../helpers/engine-app.js';

const NOW = Date.parse('2026-12-03T10:00:00Z');

interface World {
  readonly db: EngineDatabase;
  readonly ledger: CreditLedger;
  readonly tokens: TokenStore;
  readonly vendor: TokenVendor;
}

async function world(
  options: { path?: string; sign?: (sign: SignServiceToken) => SignServiceToken } = {},
): Promise<World> {
  const db = openEngineDatabase(options.path ?? ':memory:');
  const now = () => NOW;
  const store = new SqliteEngineStore(db, { signupBonus: 0, now });
  const { ledger, tokens } = store.sync;
  const keys = new ServiceTokenKeys(parseServiceTokenKey(await testServiceTokenKey('vendor-test')));
  const vendor = new TokenVendor({
    store,
    sign: options.sign ? options.sign(keys.sign) : keys.sign,
    logger: createLogger({ service: 'vendor-test', level: 'silent' }),
  });
  return { db, ledger, tokens, vendor };
}

const request = (userId: string, clientRequestId: string): VendRequest => ({
  userId,
  clientRequestId,
  body: { clientRequestId },
  requestId: `req_${userId}_${clientRequestId}`,
});

/** Every vend's outcome: its response or its catalog code. */
async function settle(
  vends: ReadonlyArray<Promise<unknown>>,
): Promise<Array<{ ok: true; value: unknown } | { ok: false; code: string; detail: string }>> {
  return Promise.all(
    vends.map((vend) =>
      vend.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => {
          if (!isApiError(error)) throw error;
          return { ok: false as const, code: error.code, detail: error.detail };
        },
      ),
    ),
  );
}

const charges = (w: World, userId: string) => w.ledger.page(userId, 100).filter((e) => e.kind === 'charge').length;

describe('TokenVendor: one transaction per vend', () => {
  let w: World;
  beforeEach(async () => {
    w = await world();
    w.ledger.grant('rich', 100, 'main', { reason: 'test' });
  });
  afterEach(() => {
    w.db.close();
  });

  it('answers concurrent vends each with its own token and charge', async () => {
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => w.vendor.vend(request('rich', `k${i}`))));
    expect(new Set(results.map((r) => r.response.tokenId)).size).toBe(5);
    expect(results.map((r) => r.response.balanceAfter)).toEqual([99, 98, 97, 96, 95]);
    expect(charges(w, 'rich')).toBe(5);
    for (const r of results)
      expect(w.tokens.get(r.response.tokenId)).toMatchObject({ state: 'vended', userId: 'rich' });
  });

  it('rolls back only the vend that is refused; the others stand', async () => {
    const outcomes = await settle([
      w.vendor.vend(request('rich', 'k1')),
      w.vendor.vend(request('poor', 'k1')),
      w.vendor.vend(request('rich', 'k2')),
    ]);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['ok', 'insufficient_credits', 'ok']);
    expect(charges(w, 'rich')).toBe(2);
    expect(charges(w, 'poor')).toBe(0);
    // The refused vend took no key: once the user has credits, the same clientRequestId vends.
    w.ledger.grant('poor', 1, 'main', { reason: 'test' });
    await expect(w.vendor.vend(request('poor', 'k1'))).resolves.toMatchObject({
      replayed: false,
      response: { balanceAfter: 0 },
    });
  });

  it('answers a key repeated concurrently as a replay of the first, charging once', async () => {
    const [first, second] = await Promise.all([
      w.vendor.vend(request('rich', 'same')),
      w.vendor.vend(request('rich', 'same')),
    ]);
    expect(first.replayed).toBe(false);
    expect(second).toEqual({ replayed: true, response: first.response });
    expect(charges(w, 'rich')).toBe(1);
  });
});

describe('TokenVendor with a signer that throws for one vend', () => {
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
      const outcomes = await settle([
        w.vendor.vend(request('rich', 'k1')),
        w.vendor.vend(request('unlucky', 'k1')),
        w.vendor.vend(request('rich', 'k2')),
      ]);
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

describe('TokenVendor when the database is busy', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pluct-vendor-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails the vends with internal_error, writes none of them, and the same keys vend once the database is free', async () => {
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
      other.exec('ROLLBACK');
      expect(charges(w, 'rich')).toBe(0);
      const retried = await Promise.all([w.vendor.vend(request('rich', 'k1')), w.vendor.vend(request('rich', 'k2'))]);
      expect(retried.map((r) => [r.replayed, r.response.balanceAfter])).toEqual([
        [false, 9],
        [false, 8],
      ]);
    } finally {
      other.close();
      w.db.close();
    }
  });
});
