import DataLoader from 'dataloader';
import type pg from 'pg';
import type { components } from '../../../generated/business-engine/schema.js';
import { isConnectionFailure, postgresFailure } from '../db/postgres-errors.js';
import { insufficientCredits } from '../db/refusals.js';
import { inProgress } from '../tokens/vend-rules.js';

type VendTokenResponse = components['schemas']['VendTokenResponse'];

/** One vend's arguments to `engine_vend` (migration 2), the token already signed. */
export interface VendCall {
  readonly userId: string;
  readonly clientRequestId: string;
  readonly bodyHash: string;
  readonly requestId: string;
  readonly jti: string;
  /** Epoch ms of the token's iat and exp, and of the vend. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly at: number;
  /** The answer to store under the key (its balanceAfter is filled in by the database). */
  readonly response: VendTokenResponse;
}

/** What `engine_vend` answers for one vend. */
export interface VendRow {
  o_outcome: 'vended' | 'replay' | 'in_progress';
  o_balance: number | null;
  o_body_hash: string | null;
  o_response: string | null;
}

interface BatchRow extends Omit<VendRow, 'o_outcome'> {
  o_index: number;
  o_outcome: VendRow['o_outcome'] | 'error';
  o_sqlstate: string | null;
  o_detail: string | null;
}

/**
 * At most this many vends per statement: each runs in a subtransaction, and PostgreSQL tracks up to 64 of a
 * transaction's subtransactions cheaply (beyond that every other session's snapshot gets slower).
 */
const MAX_BATCH = 32;

/**
 * Vends of one event-loop turn as ONE statement (`engine_vend_many`, migration 3): one round trip and one commit
 * for all of them instead of one each, the same `engine_vend` rules for every one. A vend that failed inside the
 * batch wrote nothing (its subtransaction was rolled back); the two refusals `engine_vend` raises become their
 * catalog errors, and any other failure is sent again alone through `single` (which retries conflicts and
 * translates the error), so one vend's trouble is never another's. A batch the database refused as a whole is sent
 * again vend by vend for the same reason; only a lost database fails each vend of the batch at once (503, retryable:
 * a vend retried with its clientRequestId is charged at most once, even if the lost answer was a commit).
 *
 * @example
 * const batch = new PostgresVendBatch(pool, signupBonus, (call) => store.vendAlone(call));
 * const row = await batch.vend(call); // resolved after the commit that holds it
 */
export class PostgresVendBatch {
  readonly #loader: DataLoader<VendCall, VendRow>;

  constructor(
    pool: pg.Pool,
    signupBonus: number,
    private readonly single: (call: VendCall) => Promise<VendRow>,
  ) {
    this.#loader = new DataLoader<VendCall, VendRow>((calls) => this.#run(pool, signupBonus, calls), {
      cache: false,
      maxBatchSize: MAX_BATCH,
      // One turn of the event loop: every vend whose request was read in it shares the statement.
      batchScheduleFn: (dispatch) => setImmediate(dispatch),
    });
  }

  /** Runs one vend in the next batch; settles once the batch has committed (or failed). */
  vend(call: VendCall): Promise<VendRow> {
    return this.#loader.load(call);
  }

  async #run(pool: pg.Pool, signupBonus: number, calls: readonly VendCall[]): Promise<Array<VendRow | Error>> {
    if (calls.length === 1) return [await this.single(calls[0] as VendCall).catch(asError)];
    const items = calls.map((c) => ({
      u: c.userId,
      k: c.clientRequestId,
      h: c.bodyHash,
      r: c.requestId,
      j: c.jti,
      ia: c.issuedAt,
      ea: c.expiresAt,
      at: c.at,
      resp: c.response,
    }));
    let rows: BatchRow[];
    try {
      ({ rows } = await pool.query<BatchRow>('SELECT * FROM engine_vend_many($1::jsonb, $2)', [
        JSON.stringify(items),
        signupBonus,
      ]));
    } catch (error) {
      if (isConnectionFailure(error)) return calls.map(() => postgresFailure('charge the credit', error));
      // Refused as a whole for something one vend carried (a value the database cannot store, a statement timeout
      // while one waited on a busy balance): each again alone, so only that vend fails.
      return Promise.all(calls.map((call) => this.single(call).catch(asError)));
    }
    const byIndex = new Map(rows.map((row) => [row.o_index, row]));
    return Promise.all(
      calls.map(async (call, i): Promise<VendRow | Error> => {
        const row = byIndex.get(i + 1);
        if (!row) return new Error(`engine_vend_many answered no row for vend ${i + 1} of ${calls.length}`);
        if (row.o_outcome !== 'error') return row as VendRow;
        if (row.o_sqlstate === 'PLU01') return inProgress(call.clientRequestId);
        if (row.o_sqlstate === 'PLU02') return insufficientCredits(Number(row.o_detail));
        return this.single(call).catch(asError);
      }),
    );
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
