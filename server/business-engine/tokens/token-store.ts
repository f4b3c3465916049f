import type { Statement, Transaction } from 'better-sqlite3';
import type { CreditLedger } from '../credits/credit-ledger.js';
import type { EngineDatabase } from '../db/engine-database.js';
import type { Bucket, RefundContext, TokenRecord, TokenState } from '../db/engine-records.js';
import { withSqlite } from '../db/sqlite-errors.js';

export type { RefundContext, TokenRecord, TokenState } from '../db/engine-records.js';

interface TokenRow {
  jti: string;
  user_id: string;
  state: TokenState;
  bucket: Bucket;
  charge_entry_id: number;
  request_id: string | null;
  issued_at: number;
  expires_at: number;
  job_id: string | null;
  submitted_at: number | null;
  settled_at: number | null;
  refund_reason: string | null;
  submission_key: string | null;
  updated_at: number;
}

/**
 * The service-token table: every state change is one conditional UPDATE (`WHERE state = <expected>`), so two
 * racing requests cannot both claim a token, and a refund (state change plus ledger entry, one transaction) is
 * written exactly once.
 *
 * @example
 * const tokens = new TokenStore(db, ledger, Date.now);
 * if (tokens.claim(jti, newTokenId('sub_'))) { ... forward ...; tokens.markSubmitted(jti, jobId); }
 */
export class TokenStore {
  private readonly insert: Statement<[string, string, Bucket, number, string | null, number, number, number]>;
  private readonly select: Statement<[string], TokenRow>;
  private readonly selectByJob: Statement<[string], TokenRow>;
  private readonly transition: Statement<[TokenState, number, string, TokenState]>;
  private readonly setClaimed: Statement<[string, number, string]>;
  private readonly setResumed: Statement<[number, string, string]>;
  private readonly setRefundedIfUnchanged: Statement<[string, number, number, string, TokenState, number]>;
  private readonly setSubmitted: Statement<[string, number, number, string]>;
  private readonly setSettled: Statement<[TokenState, string | null, number, number, string, TokenState]>;
  private readonly selectExpired: Statement<[number, number], TokenRow>;
  private readonly selectStuck: Statement<[number, number], TokenRow>;
  private readonly selectSubmitted: Statement<[number, number, string, number], TokenRow>;
  private readonly refundTx: Transaction<(jti: string, from: TokenState, context: RefundContext) => boolean>;

  constructor(
    db: EngineDatabase,
    private readonly ledger: CreditLedger,
    private readonly now: () => number,
  ) {
    this.insert =
      db.prepare(`INSERT INTO service_tokens (jti, user_id, state, bucket, charge_entry_id, request_id, issued_at, expires_at, updated_at)
      VALUES (?, ?, 'vended', ?, ?, ?, ?, ?, ?)`);
    this.select = db.prepare('SELECT * FROM service_tokens WHERE jti = ?');
    this.selectByJob = db.prepare('SELECT * FROM service_tokens WHERE job_id = ?');
    this.transition = db.prepare('UPDATE service_tokens SET state = ?, updated_at = ? WHERE jti = ? AND state = ?');
    this.setClaimed = db.prepare(
      `UPDATE service_tokens SET state = 'submitting', submission_key = ?, updated_at = ? WHERE jti = ? AND state = 'vended'`,
    );
    this.setResumed = db.prepare(
      `UPDATE service_tokens SET updated_at = MAX(updated_at + 1, ?) WHERE jti = ? AND state = 'submitting' AND submission_key = ?`,
    );
    this.setRefundedIfUnchanged =
      db.prepare(`UPDATE service_tokens SET state = 'refunded', refund_reason = ?, settled_at = ?, updated_at = ?
      WHERE jti = ? AND state = ? AND updated_at = ?`);
    this.setSubmitted =
      db.prepare(`UPDATE service_tokens SET state = 'submitted', job_id = ?, submitted_at = ?, updated_at = ?
      WHERE jti = ? AND state = 'submitting'`);
    this.setSettled = db.prepare(`UPDATE service_tokens SET state = ?, refund_reason = ?, settled_at = ?, updated_at = ?
      WHERE jti = ? AND state = ?`);
    this.selectExpired = db.prepare(
      `SELECT * FROM service_tokens WHERE state = 'vended' AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
    );
    this.selectStuck = db.prepare(
      `SELECT * FROM service_tokens WHERE state = 'submitting' AND updated_at <= ? ORDER BY updated_at LIMIT ?`,
    );
    this.selectSubmitted = db.prepare(`SELECT * FROM service_tokens WHERE state = 'submitted'
      AND (submitted_at > ? OR (submitted_at = ? AND jti > ?)) ORDER BY submitted_at, jti LIMIT ?`);
    this.refundTx = db.transaction((jti: string, from: TokenState, context: RefundContext) => {
      const now = this.now();
      const changed =
        context.unchangedSince === undefined
          ? this.setSettled.run('refunded', context.reason, now, now, jti, from)
          : this.setRefundedIfUnchanged.run(context.reason, now, now, jti, from, context.unchangedSince);
      if (changed.changes !== 1) return false;
      const token = this.getIn(jti) as TokenRecord;
      this.ledger.credit(token.userId, 'refund', token.bucket, 1, {
        reason: context.reason,
        requestId: context.requestId,
        tokenId: jti,
        jobId: token.jobId,
      });
      return true;
    });
  }

  /** Records a freshly charged token (inside the vend transaction). */
  insertIn(token: {
    jti: string;
    userId: string;
    bucket: Bucket;
    chargeEntryId: number;
    requestId: string | null;
    issuedAt: number;
    expiresAt: number;
  }): void {
    this.insert.run(
      token.jti,
      token.userId,
      token.bucket,
      token.chargeEntryId,
      token.requestId,
      token.issuedAt,
      token.expiresAt,
      this.now(),
    );
  }

  get(jti: string): TokenRecord | undefined {
    return withSqlite('read the service token', () => this.getIn(jti));
  }

  byJob(jobId: string): TokenRecord | undefined {
    return withSqlite('read the job', () => {
      const row = this.selectByJob.get(jobId);
      return row && toRecord(row);
    });
  }

  /**
   * vended -> submitting, recording the submission's Idempotency-Key in the same statement (so a crash after it
   * leaves a key to recover by); false when another request got there first (or the token is no longer vended).
   */
  claim(jti: string, submissionKey: string): boolean {
    return withSqlite(
      'claim the service token',
      () => this.setClaimed.run(submissionKey, this.now(), jti).changes === 1,
    );
  }

  /**
   * A token left in submitting is resumed with its recorded key: its last change becomes now, so the sweep neither
   * takes it as stuck nor refunds it meanwhile. False when it is no longer in submitting with that key.
   */
  resume(jti: string, submissionKey: string): boolean {
    return withSqlite('resume the submission', () => this.setResumed.run(this.now(), jti, submissionKey).changes === 1);
  }

  /** submitting -> vended: the caller's own mistake (e.g. unsupported_url), so the token may be used again. */
  release(jti: string): boolean {
    return withSqlite(
      'release the service token',
      () => this.transition.run('vended', this.now(), jti, 'submitting').changes === 1,
    );
  }

  /** submitting -> submitted, recording the job id. */
  markSubmitted(jti: string, jobId: string): boolean {
    const now = this.now();
    return withSqlite('record the job', () => this.setSubmitted.run(jobId, now, now, jti).changes === 1);
  }

  /** submitted -> consumed: the job completed, the credit is spent. */
  consume(jti: string): boolean {
    const now = this.now();
    return withSqlite(
      'settle the job',
      () => this.setSettled.run('consumed', null, now, now, jti, 'submitted').changes === 1,
    );
  }

  /**
   * `from` -> refunded plus the refund ledger entry, in one transaction; false (and nothing written) when the
   * token was not in `from`, so each credit is refunded at most once.
   */
  refund(jti: string, from: TokenState, context: RefundContext): boolean {
    return withSqlite('refund the credit', () => this.refundTx.immediate(jti, from, context));
  }

  /** Vended tokens whose expiry is at or before `before` (ms). */
  expiredUnused(before: number, limit: number): TokenRecord[] {
    return withSqlite('list expired tokens', () => this.selectExpired.all(before, limit).map(toRecord));
  }

  /** Tokens left in submitting (a crash mid-forward) whose last change was at or before `before` (ms). */
  stuckSubmitting(before: number, limit: number): TokenRecord[] {
    return withSqlite('list interrupted submissions', () => this.selectStuck.all(before, limit).map(toRecord));
  }

  /**
   * Submitted tokens (jobs whose outcome is not settled yet), oldest first, strictly after `after` in
   * (submittedAt, jti) order: a sweep pages through all of them instead of polling the same oldest ones forever.
   */
  unsettled(limit: number, after?: { submittedAt: number; jti: string }): TokenRecord[] {
    const at = after?.submittedAt ?? -1;
    return withSqlite('list unsettled jobs', () =>
      this.selectSubmitted.all(at, at, after?.jti ?? '', limit).map(toRecord),
    );
  }

  private getIn(jti: string): TokenRecord | undefined {
    const row = this.select.get(jti);
    return row && toRecord(row);
  }
}

function toRecord(r: TokenRow): TokenRecord {
  return {
    jti: r.jti,
    userId: r.user_id,
    state: r.state,
    bucket: r.bucket,
    chargeEntryId: r.charge_entry_id,
    requestId: r.request_id,
    issuedAt: r.issued_at,
    expiresAt: r.expires_at,
    jobId: r.job_id,
    submittedAt: r.submitted_at,
    settledAt: r.settled_at,
    refundReason: r.refund_reason,
    submissionKey: r.submission_key ?? null,
    updatedAt: r.updated_at,
  };
}
