import DataLoader from 'dataloader';
import { RateLimiterPostgres } from 'rate-limiter-flexible';
import { isPgUnavailable } from '../db/postgres-unavailable.js';

/** One counted request: add `points` to `key`'s counter, opening a window that ends at `expire` if it has none. */
export interface CounterAdd {
  readonly key: string;
  readonly points: number;
  /** Epoch ms the window ends if this add opens it; null for a window that never ends. */
  readonly expire: number | null;
}

/** The counter as that add left it: what rate-limiter-flexible's own upsert would have returned to it. */
export interface CounterRow {
  readonly points: number;
  readonly expire: number | null;
}

/** Sends one statement's worth of text and values (the store's unnamed-statement pool). */
export type SendStatement = (text: string, values: unknown[]) => Promise<{ rows: unknown[] }>;

/** The most counters one statement adds to; a turn with more is sent as several statements. */
const MAX_BATCH = 500;
/** Statements sent again after a deadlock or serialization failure (a failed statement applied nothing). */
const CONFLICT_ATTEMPTS = 3;
/** Counters whose window ended this long ago are purged (rate-limiter-flexible's own rule). */
const PURGE_AFTER_MS = 3_600_000;
const PURGE_LIMIT = 10_000;

/**
 * Counts every rate-limited request of one event-loop turn with ONE statement, instead of one statement (and one
 * commit) per request. The adds are summed per key and applied with rate-limiter-flexible's own upsert rule (a
 * window that ended restarts at the added points, else the points are added), keys in sorted order so that two
 * replicas' batches never wait on each other in a cycle. Each caller gets the counter as it would have found it
 * had the adds been sent one by one in call order: the key's total after the statement, less what later callers
 * of the turn added. So a limit of N still lets exactly N requests through across all replicas.
 *
 * Failures stay with their cause: a deadlock or serialization failure sends the statement again; a lost database
 * fails every caller of the turn (the middleware answers 503); any other failure sends each key again alone, so a
 * key the database refuses fails only its own callers. Expired counters are purged by {@link purgeExpired}, which
 * skips rows in use instead of waiting on them (the library's own purge, a plain DELETE, could deadlock with a
 * batch).
 *
 * @example
 * const counters = new BatchedCounters((text, values) => pool.query(text, values), 'rate_limits');
 * await counters.add({ key: 'rl:vend:user:u1', points: 1, expire: Date.now() + 60_000 }); // { points: 1, expire }
 */
export class BatchedCounters {
  readonly #loader: DataLoader<CounterAdd, CounterRow>;
  readonly #send: SendStatement;
  readonly #tableName: string;

  constructor(send: SendStatement, tableName: string) {
    this.#send = send;
    this.#tableName = tableName;
    const text = upsertStatement(tableName);
    this.#loader = new DataLoader<CounterAdd, CounterRow>((adds) => addAll(send, text, adds), {
      cache: false,
      maxBatchSize: MAX_BATCH,
      // One turn of the event loop: every request whose callbacks ran in it shares the statement.
      batchScheduleFn: (dispatch) => setImmediate(dispatch),
    });
  }

  /** Adds to one counter; settles once the statement that holds the add has answered (and committed). */
  add(add: CounterAdd): Promise<CounterRow> {
    return this.#loader.load(add);
  }

  /**
   * Deletes every counter whose window ended more than an hour before `nowMs`, 10 000 per statement (short
   * transactions) until fewer are left, skipping any row another statement holds. Returns how many it deleted.
   *
   * @example
   * setInterval(() => void counters.purgeExpired(Date.now()).catch((err) => log.warn({ err })), 300_000).unref();
   */
  async purgeExpired(nowMs: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const { rows } = await this.#send(
        `DELETE FROM "${this.#tableName}" WHERE key IN (SELECT key FROM "${this.#tableName}" WHERE expire < $1
  ORDER BY key LIMIT ${PURGE_LIMIT} FOR UPDATE SKIP LOCKED) RETURNING key`,
        [nowMs - PURGE_AFTER_MS],
      );
      deleted += rows.length;
      if (rows.length < PURGE_LIMIT) return deleted;
    }
  }
}

function upsertStatement(tableName: string): string {
  return `INSERT INTO "${tableName}" AS t (key, points, expire)
  SELECT a.key, a.points, a.expire FROM unnest($1::varchar[], $2::integer[], $3::bigint[]) AS a(key, points, expire)
  ORDER BY a.key
ON CONFLICT (key) DO UPDATE SET
  points = CASE WHEN t.expire <= $4 THEN EXCLUDED.points ELSE t.points + EXCLUDED.points END,
  expire = CASE WHEN t.expire <= $4 THEN EXCLUDED.expire ELSE t.expire END
RETURNING t.key, t.points, t.expire`;
}

type Totals = Map<string, { points: number; expire: number | null }>;

async function addAll(
  send: SendStatement,
  text: string,
  adds: readonly CounterAdd[],
): Promise<Array<CounterRow | Error>> {
  const totals: Totals = new Map();
  for (const add of adds) {
    const total = totals.get(add.key);
    // The window a key opens is the one its first caller asked for, as if that caller's add had come alone first.
    if (total) total.points += add.points;
    else totals.set(add.key, { points: add.points, expire: add.expire });
  }
  let after: Map<string, CounterRow>;
  try {
    after = await upsert(send, text, totals);
  } catch (error) {
    if (totals.size === 1 || isPgUnavailable(error)) throw error;
    // Something in the turn the database refused: each key alone, so only that key's callers fail.
    after = new Map();
    const failed = new Map<string, Error>();
    let lost: Error | undefined;
    for (const [key, total] of totals) {
      // The database gone meanwhile: the keys not yet sent fail with that, instead of each waiting its timeout.
      if (lost) {
        failed.set(key, lost);
        continue;
      }
      try {
        for (const [k, row] of await upsert(send, text, new Map([[key, total]]))) after.set(k, row);
      } catch (keyError) {
        const error = keyError instanceof Error ? keyError : new Error(String(keyError));
        failed.set(key, error);
        if (isPgUnavailable(keyError)) lost = error;
      }
    }
    return answer(adds, after, failed);
  }
  return answer(adds, after, new Map());
}

async function upsert(send: SendStatement, text: string, totals: Totals): Promise<Map<string, CounterRow>> {
  const keys = [...totals.keys()];
  const values = [
    keys,
    keys.map((k) => totals.get(k)?.points),
    keys.map((k) => totals.get(k)?.expire ?? null),
    Date.now(),
  ];
  for (let attempt = 1; ; attempt += 1) {
    try {
      const { rows } = await send(text, values);
      const after = new Map<string, CounterRow>();
      for (const row of rows as Array<{ key: string; points: number | string; expire: number | string | null }>) {
        after.set(row.key, { points: Number(row.points), expire: row.expire === null ? null : Number(row.expire) });
      }
      return after;
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if ((code === '40P01' || code === '40001') && attempt < CONFLICT_ATTEMPTS) continue;
      throw error;
    }
  }
}

/** Walks the callers backwards: each sees the key's final count less what the callers after it added. */
function answer(
  adds: readonly CounterAdd[],
  after: ReadonlyMap<string, CounterRow>,
  failed: ReadonlyMap<string, Error>,
): Array<CounterRow | Error> {
  const later = new Map<string, number>();
  const out = new Array<CounterRow | Error>(adds.length);
  for (let i = adds.length - 1; i >= 0; i -= 1) {
    const add = adds[i] as CounterAdd;
    const final = after.get(add.key);
    if (!final) {
      out[i] =
        failed.get(add.key) ?? new Error(`the counter statement returned no row for key ${JSON.stringify(add.key)}`);
      continue;
    }
    const laterPoints = later.get(add.key) ?? 0;
    out[i] = { points: final.points - laterPoints, expire: final.expire };
    later.set(add.key, laterPoints + add.points);
  }
  return out;
}

/**
 * rate-limiter-flexible's PostgreSQL limiter with its per-request upsert sent through {@link BatchedCounters}; every
 * other operation (reads, deletes, forced windows such as `block`) is the library's own. It overrides the store
 * adapter's `_upsert(key, points, msDuration, forceExpire)`, the method every rate-limiter-flexible store
 * implements; the package is pinned to the version this was checked against, and the store's tests compare it
 * with RateLimiterMemory call by call.
 *
 * @example
 * const limiter = new BatchedRateLimiterPostgres({ storeClient, storeType: 'pool', tableName, tableCreated: true, keyPrefix: 'vend', points: 30, duration: 60 }, counters);
 * await limiter.consume('user:u1');
 */
export class BatchedRateLimiterPostgres extends RateLimiterPostgres {
  readonly #counters: BatchedCounters;

  constructor(options: ConstructorParameters<typeof RateLimiterPostgres>[0], counters: BatchedCounters) {
    if (typeof libraryUpsert !== 'function')
      throw new Error('rate-limiter-flexible no longer has RateLimiterPostgres#_upsert; see its pinned version');
    super(options);
    this.#counters = counters;
  }

  /** The store adapter's write (see the class comment): batched unless it forces a new window. */
  _upsert(key: string, points: number, msDuration: number, forceExpire = false): Promise<unknown> {
    if (forceExpire) return libraryUpsert.call(this, key, points, msDuration, forceExpire);
    const expire = msDuration > 0 ? Date.now() + msDuration : null;
    return this.#counters.add({ key, points, expire }).then((row) => ({ rows: [row] }));
  }
}

type UpsertFn = (key: string, points: number, msDuration: number, forceExpire: boolean) => Promise<unknown>;
// Not in the library's type declarations, though every store adapter implements it.
const libraryUpsert = (RateLimiterPostgres.prototype as unknown as { _upsert: UpsertFn })._upsert;
