import type { Logger } from 'pino';
import type { TokenRecords } from '../db/engine-store.js';
import type { TokenRecord } from '../tokens/token-store.js';
import type { UpstreamJobStatus } from '../upstream/ttt-upstream.js';

/** What settling a job did to its token. */
export type SettleOutcome = 'consumed' | 'refunded' | 'unchanged';

/**
 * Settles the credit of a job from its TTTranscribe status, exactly once: completed -> the token is consumed;
 * failed -> the credit is refunded with reason `job_failed:<code>`. Queued or processing jobs, and tokens already
 * settled, are left as they are (the state transition is conditional, so polling many times changes nothing).
 *
 * @example
 * const { token, outcome } = await settleJob(tokens, logger, record, status, requestId);
 * res.json({ ...status, creditRefunded: token.state === 'refunded' });
 */
export async function settleJob(
  tokens: TokenRecords,
  logger: Logger,
  record: TokenRecord,
  status: UpstreamJobStatus,
  requestId: string | null,
): Promise<{ token: TokenRecord; outcome: SettleOutcome }> {
  // Nothing to settle (the job still runs, or the token is settled): the record as read is the answer, no re-read
  // (a status poll is the hot path).
  if (record.state !== 'submitted' || (status.status !== 'completed' && status.status !== 'failed')) {
    return { token: record, outcome: 'unchanged' };
  }
  let outcome: SettleOutcome = 'unchanged';
  if (status.status === 'completed') {
    if (await tokens.consume(record.jti)) outcome = 'consumed';
  } else {
    const reason = `job_failed:${status.error?.code ?? 'unknown'}`;
    if (await tokens.refund(record.jti, 'submitted', { reason, requestId })) outcome = 'refunded';
  }
  if (outcome !== 'unchanged') {
    logger.info({ requestId, jobId: record.jobId, tokenId: record.jti, userId: record.userId, outcome }, 'job settled');
  }
  // Changed by this call or, a moment earlier, by another (a replica, the sweep): read what it is now.
  return { token: (await tokens.get(record.jti)) ?? record, outcome };
}
