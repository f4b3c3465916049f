import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { parseServiceTokenKey } from '../../../../server/business-engine/config.js';
import { openEngineStore } from '../../../../server/business-engine/store/open-engine-store.js';
import {
  openPostgresEngineStore,
  type PostgresEngineStore,
} from '../../../../server/business-engine/store/postgres-engine-store.js';
import {
  LATEST_POSTGRES_VERSION,
  migratePostgres,
  POSTGRES_MIGRATIONS,
} from '../../../../server/business-engine/db/postgres-migrations.js';
import { ServiceTokenKeys } from '../../../../server/business-engine/tokens/service-token-keys.js';
import { ConfigError } from '../../../../server/shared/config/env.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';
import { refusedBaseUrl } from '../../../helpers/engine-fake-ttt.js';
import { testServiceTokenKey } from '../../../helpers/engine-app.js';
import { createTestDatabase } from '../../../helpers/postgres.js';

/* PostgreSQL only: several replicas on one database, migrations, and a database that fails at start. */
const T0 = Date.UTC(2026, 0, 1);
const now = () => T0;
const sign = new ServiceTokenKeys(parseServiceTokenKey(await testServiceTokenKey('pg'))).sign;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(prefix: string): Promise<string> {
  const db = await createTestDatabase(prefix);
  cleanups.push(db.drop);
  return db.url;
}

async function replica(url: string, signupBonus = 0): Promise<PostgresEngineStore> {
  const store = await openPostgresEngineStore(url, { signupBonus, now, poolMax: 10 });
  cleanups.unshift(() => store.close());
  return store;
}

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (isApiError(e) ? e.code : `unexpected: ${String(e)}`),
  );

describe('PostgreSQL engine store across replicas', () => {
  it('200 parallel vends for one user holding 50 credits, through two replicas, give exactly 50 tokens and a balance of 0', async () => {
    const url = await database('replicas');
    const [a, b] = await Promise.all([replica(url), replica(url)]);
    await a.ledger.grant('racer', 50, 'main', { reason: 'test' });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        outcome(
          (i % 2 === 0 ? a : b).vend(
            { userId: 'racer', clientRequestId: `race-${i}`, bodyHash: 'h', requestId: `req_${i}` },
            sign,
          ),
        ),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(50);
    expect(results.filter((r) => r === 'insufficient_credits')).toHaveLength(150);
    expect(await b.ledger.ensureUser('racer', null)).toMatchObject({ balance: 0, main: 0, bonus: 0 });
    const charges = (await a.ledger.page('racer', 500)).filter((e) => e.kind === 'charge');
    expect(charges).toHaveLength(50);
    expect(charges.map((e) => e.balanceAfter).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('charges one clientRequestId once when it reaches both replicas at once', async () => {
    const url = await database('same_key');
    const [a, b] = await Promise.all([replica(url), replica(url)]);
    await a.ledger.grant('twice', 10, 'main', { reason: 'test' });
    const input = { userId: 'twice', clientRequestId: 'one-key', bodyHash: 'h', requestId: 'req_x' };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).vend(input, sign).then(
          (r) => r,
          (e: unknown) => e,
        ),
      ),
    );
    const answers = results.filter((r): r is { response: { tokenId: string }; replayed: boolean } => !isApiError(r));
    // Each either got the one token (first or replayed) or was told the key is in progress on the other replica.
    expect(new Set(answers.map((r) => r.response.tokenId)).size).toBe(1);
    expect(answers.filter((r) => !r.replayed)).toHaveLength(1);
    expect(results.filter(isApiError).every((e) => e.code === 'idempotency_in_progress')).toBe(true);
    expect((await a.ledger.page('twice', 50)).filter((e) => e.kind === 'charge')).toHaveLength(1);
    expect((await b.vend(input, sign)).replayed).toBe(true);
  });

  it('answers idempotency_in_progress while another replica holds the key, and vends once it is free', async () => {
    const url = await database('in_progress');
    const store = await replica(url, 3);
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', ['held', 'k1']);
      expect(
        await outcome(store.vend({ userId: 'held', clientRequestId: 'k1', bodyHash: 'h', requestId: 'r' }, sign)),
      ).toBe('idempotency_in_progress');
      await other.query('ROLLBACK');
      expect(
        await outcome(store.vend({ userId: 'held', clientRequestId: 'k1', bodyHash: 'h', requestId: 'r' }, sign)),
      ).toBe('ok');
    } finally {
      await other.end();
    }
  });
});

describe('PostgreSQL grants across replicas', () => {
  it('grants once when one clientRequestId reaches both replicas at once', async () => {
    const url = await database('grant_key');
    const [a, b] = await Promise.all([replica(url), replica(url)]);
    const key = { clientRequestId: 'ticket-7', bodyHash: 'h' };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).ledger.grant('granted', 4, 'main', { reason: 't7' }, key),
      ),
    );
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entry.id)).size).toBe(1);
    expect(results.every((r) => r.balance.balance === 4)).toBe(true);
    expect((await a.ledger.ensureUser('granted', null)).balance).toBe(4);
  });
});

describe('PostgreSQL credit metrics across replicas', () => {
  it('has each replica report the charges and refunds it made, so their sum is the ledger, not N times it', async () => {
    const url = await database('movements');
    const [a, b] = await Promise.all([replica(url), replica(url)]);
    await a.ledger.grant('metered', 5, 'main', { reason: 'test' });
    const vended = await Promise.all(
      ['m1', 'm2', 'm3'].map((key, i) =>
        (i === 0 ? b : a).vend(
          { userId: 'metered', clientRequestId: key, bodyHash: 'h', requestId: `req_${key}` },
          sign,
        ),
      ),
    );
    // A replay charges nothing, and a refund counts where it happened.
    await a.vend({ userId: 'metered', clientRequestId: 'm2', bodyHash: 'h', requestId: 'again' }, sign);
    expect(
      await b.tokens.refund(vended[1]!.response.tokenId, 'vended', {
        reason: 'token_expired_unused',
        requestId: 'req_r',
      }),
    ).toBe(true);
    expect(
      await a.tokens.refund(vended[1]!.response.tokenId, 'vended', {
        reason: 'token_expired_unused',
        requestId: 'req_r',
      }),
    ).toBe(false);

    const [fromA, fromB] = [a.newMovements(), b.newMovements()];
    // Summed per kind and reason (a replica nobody scrapes keeps a few counters, not a growing list).
    expect(fromA).toEqual([{ kind: 'charge', reason: 'vend_token', credits: 2 }]);
    expect(fromB).toEqual([
      { kind: 'charge', reason: 'vend_token', credits: 1 },
      { kind: 'refund', reason: 'token_expired_unused', credits: 1 },
    ]);
    const ledger = (await a.ledger.page('metered', 50)).filter((e) => e.kind !== 'grant');
    const total = (kind: string) =>
      [...fromA, ...fromB].filter((m) => m.kind === kind).reduce((sum, m) => sum + m.credits, 0);
    expect([total('charge'), total('refund')]).toEqual([
      ledger.filter((e) => e.kind === 'charge').length,
      ledger.filter((e) => e.kind === 'refund').length,
    ]);
    // Handed out once.
    expect([a.newMovements(), b.newMovements()]).toEqual([[], []]);
  });
});

describe('PostgreSQL migrations', () => {
  it('migrates a new database once, even with replicas starting at the same moment', async () => {
    const url = await database('migrate_race');
    await Promise.all([replica(url), replica(url), replica(url)]);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT version FROM engine_schema_version ORDER BY version');
      expect(rows.map((r: { version: number }) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      expect(await migratePostgres(pool)).toEqual([]);
      await pool.end();
    } finally {
      await client.end();
    }
  });

  it('leaves no partial schema when a migration fails, and records no version for it', async () => {
    const url = await database('migrate_fail');
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const broken = [
        ...POSTGRES_MIGRATIONS,
        {
          version: LATEST_POSTGRES_VERSION + 1,
          name: 'broken',
          sql: 'CREATE TABLE half_done (id INT); SELECT no_such_column FROM half_done',
        },
      ];
      await expect(migratePostgres(pool, broken)).rejects.toThrow(/no_such_column/);
      const { rows } = await pool.query(
        "SELECT max(version) AS v, to_regclass('half_done') AS t FROM engine_schema_version",
      );
      expect(rows[0]).toEqual({ v: LATEST_POSTGRES_VERSION, t: null });
    } finally {
      await pool.end();
    }
  });

  it('refuses to start on a database from a newer engine, naming ENGINE_DB and what to run', async () => {
    const url = await database('migrate_newer');
    await (await replica(url)).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query("INSERT INTO engine_schema_version (version, name) VALUES (99, 'from the future')");
    await client.end();
    const refusal = await openEngineStore({ db: url, poolMax: 2 }, { signupBonus: 0, now }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as ConfigError).problems).toEqual([
      {
        variable: 'ENGINE_DB',
        message: expect.stringMatching(
          new RegExp(
            `schema version 99; this engine knows up to ${LATEST_POSTGRES_VERSION}\\. Run the engine release that wrote it`,
          ),
        ),
      },
    ]);
  });
});

describe('a PostgreSQL database unreachable at start', () => {
  it('refuses to start naming ENGINE_DB and the cause, never the password', async () => {
    const port = new URL(await refusedBaseUrl()).port;
    const url = `postgres://app:TEST-ONLY-pw-s3cret@127.0.0.1:${port}/engine`;
    const refusal = await openEngineStore({ db: url, poolMax: 2 }, { signupBonus: 0, now }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    const text = (refusal as ConfigError).message;
    expect(text).toContain('ENGINE_DB');
    expect(text).toContain(`postgres://app:***@127.0.0.1:${port}/engine`);
    expect(text).toMatch(/ECONNREFUSED/);
    expect(text).not.toContain('TEST-ONLY-pw-s3cret');
  });
});
