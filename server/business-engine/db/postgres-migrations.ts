import type pg from 'pg';

/**
 * The engine's PostgreSQL schema, as versioned migrations applied in order at start. Never edit a released one:
 * add the next. Times are epoch milliseconds (BIGINT), like the SQLite schema.
 */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}> = [
  {
    version: 1,
    name: 'credits, service tokens, vend idempotency, integration tokens',
    sql: `
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  main INTEGER NOT NULL DEFAULT 0 CHECK (main >= 0),
  bonus INTEGER NOT NULL DEFAULT 0 CHECK (bonus >= 0),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE ledger (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  kind TEXT NOT NULL CHECK (kind IN ('grant', 'charge', 'refund')),
  bucket TEXT NOT NULL CHECK (bucket IN ('main', 'bonus')),
  amount INTEGER NOT NULL CHECK (amount <> 0),
  balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
  reason TEXT NOT NULL,
  request_id TEXT,
  job_id TEXT,
  token_id TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX ledger_by_user ON ledger (user_id, id);
CREATE UNIQUE INDEX ledger_one_charge_per_token ON ledger (token_id) WHERE kind = 'charge';
CREATE UNIQUE INDEX ledger_one_refund_per_token ON ledger (token_id) WHERE kind = 'refund';
CREATE UNIQUE INDEX ledger_one_signup_bonus ON ledger (user_id) WHERE reason = 'signup_bonus';
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$;
CREATE TRIGGER ledger_no_change BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TABLE service_tokens (
  jti TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  state TEXT NOT NULL CHECK (state IN ('vended', 'submitting', 'submitted', 'consumed', 'refunded')),
  bucket TEXT NOT NULL CHECK (bucket IN ('main', 'bonus')),
  charge_entry_id BIGINT NOT NULL REFERENCES ledger(id),
  request_id TEXT,
  issued_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  job_id TEXT UNIQUE,
  submitted_at BIGINT,
  settled_at BIGINT,
  refund_reason TEXT,
  updated_at BIGINT NOT NULL,
  submission_key TEXT UNIQUE
);
CREATE INDEX service_tokens_by_state ON service_tokens (state, expires_at);
CREATE TABLE idempotency_keys (
  user_id TEXT NOT NULL,
  client_request_id TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
  token_jti TEXT,
  response_json TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, client_request_id)
);
CREATE TABLE integration_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  description TEXT NOT NULL,
  scopes TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  expires_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX integration_tokens_by_user ON integration_tokens (user_id, created_at);
`,
  },
  {
    version: 2,
    name: 'the vend as one function (one round trip); job id and submission key unique where set',
    // Every step of the vend the engine used to send one by one (the key's advisory lock, the user created with the
    // signup bonus once, the stored answer, the charge under the balance row's lock, the ledger entry, the token, the
    // key with its answer), as one statement. It commits or rolls back as a whole; the cases that must write nothing
    // raise (PLU01: the key was taken meanwhile; PLU02: not enough credits, the balance in DETAIL).
    sql: `
CREATE FUNCTION engine_vend(
  p_user TEXT, p_key TEXT, p_body_hash TEXT, p_request_id TEXT, p_jti TEXT,
  p_issued_at BIGINT, p_expires_at BIGINT, p_now BIGINT, p_signup_bonus INTEGER, p_response JSONB,
  OUT o_outcome TEXT, OUT o_balance INTEGER, OUT o_body_hash TEXT, OUT o_response TEXT
) LANGUAGE plpgsql AS $$
DECLARE
  v_main INTEGER;
  v_bonus INTEGER;
  v_bucket TEXT;
  v_entry BIGINT;
  v_hash TEXT;
  v_stored TEXT;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext(p_user), hashtext(p_key)) THEN
    o_outcome := 'in_progress';
    RETURN;
  END IF;
  -- The balance row, locked until commit; a user seen for the first time is created (with the signup bonus, once:
  -- a racing first vend waits on the new row and then finds it) and locked the same way.
  SELECT u.main, u.bonus INTO v_main, v_bonus FROM users AS u WHERE u.id = p_user FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO users AS u (id, main, bonus, created_at, updated_at) VALUES (p_user, 0, 0, p_now, p_now)
      ON CONFLICT (id) DO NOTHING;
    IF FOUND AND p_signup_bonus > 0 THEN
      UPDATE users AS u SET bonus = u.bonus + p_signup_bonus, updated_at = p_now WHERE u.id = p_user;
      INSERT INTO ledger (user_id, kind, bucket, amount, balance_after, reason, request_id, created_at)
        VALUES (p_user, 'grant', 'bonus', p_signup_bonus, p_signup_bonus, 'signup_bonus', p_request_id, p_now);
    END IF;
    SELECT u.main, u.bonus INTO v_main, v_bonus FROM users AS u WHERE u.id = p_user FOR UPDATE;
  END IF;
  SELECT k.body_hash, k.response_json INTO v_hash, v_stored
    FROM idempotency_keys AS k WHERE k.user_id = p_user AND k.client_request_id = p_key;
  IF FOUND THEN
    o_outcome := 'replay';
    o_body_hash := v_hash;
    o_response := v_stored;
    RETURN;
  END IF;
  IF v_main + v_bonus < 1 THEN
    RAISE EXCEPTION 'insufficient credits' USING ERRCODE = 'PLU02', DETAIL = (v_main + v_bonus)::TEXT;
  END IF;
  IF v_bonus > 0 THEN
    v_bucket := 'bonus';
    v_bonus := v_bonus - 1;
  ELSE
    v_bucket := 'main';
    v_main := v_main - 1;
  END IF;
  UPDATE users AS u SET main = v_main, bonus = v_bonus, updated_at = p_now WHERE u.id = p_user;
  INSERT INTO ledger (user_id, kind, bucket, amount, balance_after, reason, request_id, token_id, created_at)
    VALUES (p_user, 'charge', v_bucket, -1, v_main + v_bonus, 'vend_token', p_request_id, p_jti, p_now)
    RETURNING id INTO v_entry;
  INSERT INTO service_tokens (jti, user_id, state, bucket, charge_entry_id, request_id, issued_at, expires_at, updated_at)
    VALUES (p_jti, p_user, 'vended', v_bucket, v_entry, p_request_id, p_issued_at, p_expires_at, p_now);
  INSERT INTO idempotency_keys AS k (user_id, client_request_id, body_hash, state, token_jti, response_json,
      created_at, updated_at)
    VALUES (p_user, p_key, p_body_hash, 'done', p_jti,
      jsonb_set(p_response, '{balanceAfter}', to_jsonb(v_main + v_bonus))::TEXT, p_now, p_now)
    ON CONFLICT (user_id, client_request_id) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'idempotency key taken meanwhile' USING ERRCODE = 'PLU01';
  END IF;
  o_outcome := 'vended';
  o_balance := v_main + v_bonus;
END $$;
-- A vend writes neither a job id nor a submission key: unique only where set, so a new token adds no index entry
-- for either (PostgreSQL indexes NULLs).
ALTER TABLE service_tokens DROP CONSTRAINT service_tokens_job_id_key;
CREATE UNIQUE INDEX service_tokens_by_job ON service_tokens (job_id) WHERE job_id IS NOT NULL;
ALTER TABLE service_tokens DROP CONSTRAINT service_tokens_submission_key_key;
CREATE UNIQUE INDEX service_tokens_by_submission_key ON service_tokens (submission_key) WHERE submission_key IS NOT NULL;
`,
  },
  {
    version: 3,
    name: 'engine_vend_many: a batch of vends in one statement',
    sql: `
-- The vends one engine received in one event-loop turn, in one statement and one commit (the engine's
-- PostgresVendBatch). p_items is a JSON array of {u, k, h, r, j, ia, ea, at, resp}: engine_vend's arguments.
-- Each vend runs in its own subtransaction, so one that fails takes back only its own writes and is answered
-- with its SQLSTATE (and DETAIL) instead of failing the others. Vends are taken in user order, so the balance rows
-- of two batches (on any replicas) are always locked in the same order and never deadlock on each other.
CREATE FUNCTION engine_vend_many(p_items JSONB, p_signup_bonus INTEGER)
RETURNS TABLE (o_index INTEGER, o_outcome TEXT, o_balance INTEGER, o_body_hash TEXT, o_response TEXT,
  o_sqlstate TEXT, o_detail TEXT)
LANGUAGE plpgsql AS $$
DECLARE
  v_item RECORD;
  v_result RECORD;
BEGIN
  FOR v_item IN
    SELECT e.n::INTEGER AS n, x.*
      FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, n),
        jsonb_to_record(e.item) AS x(u TEXT, k TEXT, h TEXT, r TEXT, j TEXT, ia BIGINT, ea BIGINT, at BIGINT, resp JSONB)
      ORDER BY x.u, e.n
  LOOP
    o_index := v_item.n;
    o_balance := NULL;
    o_body_hash := NULL;
    o_response := NULL;
    o_sqlstate := NULL;
    o_detail := NULL;
    BEGIN
      SELECT * INTO v_result FROM engine_vend(v_item.u, v_item.k, v_item.h, v_item.r, v_item.j, v_item.ia, v_item.ea,
        v_item.at, p_signup_bonus, v_item.resp);
      o_outcome := v_result.o_outcome;
      o_balance := v_result.o_balance;
      o_body_hash := v_result.o_body_hash;
      o_response := v_result.o_response;
    EXCEPTION WHEN OTHERS THEN
      o_outcome := 'error';
      GET STACKED DIAGNOSTICS o_sqlstate = RETURNED_SQLSTATE, o_detail = PG_EXCEPTION_DETAIL;
    END;
    RETURN NEXT;
  END LOOP;
END $$;
`,
  },
  {
    version: 4,
    name: 'grant_keys: idempotent admin grants',
    sql: `
-- A grant with a clientRequestId happens once: the key is inserted first in the grant's transaction (a concurrent
-- grant with the same key waits on it, then finds it), the entry and the balance it left are filled in before commit.
CREATE TABLE grant_keys (
  client_request_id TEXT PRIMARY KEY,
  body_hash TEXT NOT NULL,
  entry_id BIGINT REFERENCES ledger(id),
  main INTEGER,
  bonus INTEGER,
  created_at BIGINT NOT NULL
);
`,
  },
];

/** The newest schema version this engine knows. */
export const LATEST_POSTGRES_VERSION = POSTGRES_MIGRATIONS.at(-1)?.version ?? 0;

/** Serialises migrations of every replica starting at once: a transaction-scoped advisory lock (PgBouncer-safe). */
const MIGRATION_LOCK = 0x706c7563; // 'pluc'

/** The database's schema is newer than this engine: the engine refuses to start. */
export class SchemaTooNew extends Error {
  override readonly name = 'SchemaTooNew';
  constructor(readonly found: number) {
    super(
      `the database has engine schema version ${found}; this engine knows up to ${LATEST_POSTGRES_VERSION}. ` +
        'Run the engine release that wrote it (or a newer one); never point an older engine at a newer database.',
    );
  }
}

/**
 * Applies the pending migrations, each in its own transaction under `pg_advisory_xact_lock`, recording each in
 * `engine_schema_version`: idempotent (applied versions are skipped), race-free across replicas (the lock, and the
 * version re-read under it), and all-or-nothing per migration (a failure rolls its transaction back, so no partial
 * schema is left). Returns the versions it applied.
 *
 * @throws SchemaTooNew when the database is at a version above {@link LATEST_POSTGRES_VERSION}.
 * @example
 * await migratePostgres(pool); // [1] on a new database, [] after
 */
export async function migratePostgres(pool: pg.Pool, migrations = POSTGRES_MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  const latest = migrations.at(-1)?.version ?? 0;
  for (let index = 0; ; index += 1) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE TABLE IF NOT EXISTS engine_schema_version (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM engine_schema_version');
      const current = rows[0]?.v ?? 0;
      if (current > latest) throw new SchemaTooNew(current);
      const next = migrations.find((m) => m.version > current);
      if (!next) {
        await client.query('COMMIT');
        return applied;
      }
      await client.query(next.sql);
      await client.query('INSERT INTO engine_schema_version (version, name) VALUES ($1, $2)', [
        next.version,
        next.name,
      ]);
      await client.query('COMMIT');
      applied.push(next.version);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    if (index > migrations.length) throw new Error('migrations did not converge');
  }
}
