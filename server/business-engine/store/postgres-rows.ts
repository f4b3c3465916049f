import type {
  Balance,
  Bucket,
  IntegrationTokenRecord,
  LedgerKind,
  LedgerRow,
  TokenRecord,
  TokenState,
} from '../db/engine-records.js';

/*
 * PostgreSQL rows as the engine's records (the same shapes the SQLite store returns). Times are BIGINT epoch ms,
 * parsed as numbers by the store's pool.
 */

/** A users row as read for a balance (main, bonus, updated_at). */
export function toBalance(userId: string, row: Record<string, unknown>): Balance {
  const main = Number(row['main']);
  const bonus = Number(row['bonus']);
  return { userId, main, bonus, balance: main + bonus, updatedAt: Number(row['updated_at']) };
}

export function toLedgerRow(r: Record<string, unknown>): LedgerRow {
  return {
    id: Number(r['id']),
    userId: r['user_id'] as string,
    kind: r['kind'] as LedgerKind,
    bucket: r['bucket'] as Bucket,
    amount: Number(r['amount']),
    balanceAfter: Number(r['balance_after']),
    reason: r['reason'] as string,
    requestId: (r['request_id'] as string | null) ?? null,
    jobId: (r['job_id'] as string | null) ?? null,
    tokenId: (r['token_id'] as string | null) ?? null,
    createdAt: Number(r['created_at']),
  };
}

const nullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toTokenRecord(r: Record<string, unknown>): TokenRecord {
  return {
    jti: r['jti'] as string,
    userId: r['user_id'] as string,
    state: r['state'] as TokenState,
    bucket: r['bucket'] as Bucket,
    chargeEntryId: Number(r['charge_entry_id']),
    requestId: (r['request_id'] as string | null) ?? null,
    issuedAt: Number(r['issued_at']),
    expiresAt: Number(r['expires_at']),
    jobId: (r['job_id'] as string | null) ?? null,
    submittedAt: nullableNumber(r['submitted_at']),
    settledAt: nullableNumber(r['settled_at']),
    refundReason: (r['refund_reason'] as string | null) ?? null,
    submissionKey: (r['submission_key'] as string | null) ?? null,
    updatedAt: Number(r['updated_at']),
  };
}

export function toIntegrationRecord(r: Record<string, unknown>): IntegrationTokenRecord {
  return {
    id: r['id'] as string,
    userId: r['user_id'] as string,
    description: r['description'] as string,
    scopes: (r['scopes'] as string).split(' ').filter((s) => s !== ''),
    createdAt: Number(r['created_at']),
    lastUsedAt: nullableNumber(r['last_used_at']),
    expiresAt: nullableNumber(r['expires_at']),
    revokedAt: nullableNumber(r['revoked_at']),
  };
}
