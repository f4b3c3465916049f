import { idempotencyKeyReused } from '../db/refusals.js';
import type { Balance, LedgerRow } from '../db/engine-records.js';
import type { GrantKey, GrantOutcome } from '../db/engine-store.js';

/** A grant key as stored: the body's hash, the entry the grant wrote and the buckets it left. */
export interface StoredGrantKey {
  readonly bodyHash: string;
  readonly entryId: number;
  readonly main: number;
  readonly bonus: number;
  readonly createdAt: number;
}

/**
 * What a grant key already taken means, the same for every storage backend: another body ->
 * `idempotency_key_reused`; else the first grant's answer again (its entry, the balance it left), replayed.
 *
 * @example
 * if (stored) return replayGrant(stored, key, (id) => entryById(id));
 */
export function replayGrant(
  stored: StoredGrantKey,
  key: GrantKey,
  userId: string,
  entry: LedgerRow | undefined,
): GrantOutcome {
  // The hash covers the user too; a missing entry is the store's fault, never the caller's.
  if (!entry || entry.id !== stored.entryId) throw new Error(`grant key ${key.clientRequestId} has no ledger entry`);
  if (stored.bodyHash !== key.bodyHash || entry.userId !== userId) throw idempotencyKeyReused(key.clientRequestId);
  const balance: Balance = {
    userId,
    main: stored.main,
    bonus: stored.bonus,
    balance: stored.main + stored.bonus,
    updatedAt: stored.createdAt,
  };
  return { entry, balance, replayed: true };
}
