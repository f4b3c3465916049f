import type { Logger } from 'pino';
import type { TokenRecord, TokenStore } from '../tokens/token-store.js';
import type { UpstreamJobStatus } from '../upstream/ttt-upstream.js';

/** What settling a job did to its token. */
export type SettleOutcome = 'consumed' | 'refunded' | 'unchanged';

/**
 * Settles the credit of a job from its TTTranscribe status, exactly once: completed -> the token is consumed;
 * failed -> the credit is refunded with reason `job_failed:<code>`. Queued or processing jobs, and tokens already
 * settled, are left as they are (the state transition is conditional, so polling many times changes nothing).
 *
 * @example
 * const { token, outcome } = settleJob(tokens, logger, record, status, requestId);
 * res.json({ ...status, creditRefunded: token.state === 'refunded' });
 */
export function settleJob(
  tokens: TokenStore,
  logger: Logger,
  record: TokenRecord,
  status: UpstreamJobStatus,
  requestId: string | null,
): { token: TokenRecord; outcome: SettleOutcome } {
  let outcome: SettleOutcome = 'unchanged';
  if (record.state === 'submitted' && status.status === 'completed') {
    if (tokens.consume(record.jti)) outcome = 'consumed';
  } else if (record.state === 'submitted' && status.status === 'failed') {
    const reason = `job_failed:${status.error?.code ?? 'unknown'}`;
    if (tokens.refund(record.jti, 'submitted', { reason, requestId })) outcome = 'refunded';
  }
  if (outcome !== 'unchanged') {
    logger.info({ requestId, jobId: record.jobId, tokenId: record.jti, userId: record.userId, outcome }, 'job settled');
  }
  return { token: tokens.get(record.jti) ?? record, outcome };
}
