import DataLoader from 'dataloader';
import { RateLimiterPostgres } from 'rate-limiter-flexible';

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

/**
 * Counts every rate-limited request of one event-loop turn with ONE statement, instead of one statement (and one
 * commit) per request. The adds are summed per key and applied with rate-limiter-flexible's own upsert rule (a
 * window that ended restarts at the added points, else the points are added), keys in sorted order so that two
 * replicas' batches never wait on each other in a cycle. Each caller gets the counter as it would have found it
 * had the adds been sent one by one in call order: the key's total after the statement, less what later callers
 * of the turn added. So a limit of N still lets exactly N requests through across all replicas.
 *
 * @example
 * const counters = new BatchedCounters((text, values) => pool.query(text, values), 'rate_limits');
 * await counters.add({ key: 'rl:vend:user:u1', points: 1, expire: Date.now() + 60_000 }); // { points: 1, expire }
 */
export class BatchedCounters {
  readonly #loader: DataLoader<CounterAdd, CounterRow>;

  constructor(send: SendStatement, tableName: string) {
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

async function addAll(send: SendStatement, text: string, adds: readonly CounterAdd[]): Promise<CounterRow[]> {
  const totals = new Map<string, { points: number; expire: number | null }>();
  for (const add of adds) {
    const total = totals.get(add.key);
    // The window a key opens is the one its first caller asked for, as if that caller's add had come alone first.
    if (total) total.points += add.points;
    else totals.set(add.key, { points: add.points, expire: add.expire });
  }
  const keys = [...totals.keys()];
  const { rows } = await send(text, [
    keys,
    keys.map((k) => totals.get(k)?.points),
    keys.map((k) => totals.get(k)?.expire ?? null),
    Date.now(),
  ]);
  const after = new Map<string, { points: number; expire: number | null }>();
  for (const row of rows as Array<{ key: string; points: number | string; expire: number | string | null }>) {
    after.set(row.key, { points: Number(row.points), expire: row.expire === null ? null : Number(row.expire) });
  }
  // Walk the callers backwards: each sees the key's final count less what the callers after it added.
  const later = new Map<string, number>();
  const out = new Array<CounterRow>(adds.length);
  for (let i = adds.length - 1; i >= 0; i -= 1) {
    const add = adds[i] as CounterAdd;
    const final = after.get(add.key);
    if (!final) throw new Error(`the counter statement returned no row for ${add.key}`);
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
