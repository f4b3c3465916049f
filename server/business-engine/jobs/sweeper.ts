import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { newRequestId } from '../../shared/http/request-id.js';
import { SERVICE_TOKEN } from '../../protocol/service-token.js';
import type { TokenRecords } from '../db/engine-store.js';
import type { TttUpstream } from '../upstream/ttt-upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import { settleJob } from './job-settlement.js';

/** What one sweep did. */
export interface SweepReport {
  /** Vended tokens that expired unused and were refunded. */
  readonly expiredRefunded: number;
  /** Submissions interrupted by a crash that TTTranscribe never stored (asked by their key), refunded. */
  readonly interruptedRefunded: number;
  /** Submissions interrupted by a crash whose job TTTranscribe had stored: the job linked to its token. */
  readonly interruptedLinked: number;
  readonly jobsConsumed: number;
  readonly jobsRefunded: number;
  /** Jobs whose status could not be read this time (retried next sweep). */
  readonly pollErrors: number;
}

/** How long a token may stay in `submitting` before the sweep asks TTTranscribe about it (a submission takes seconds). */
export const STUCK_SUBMITTING_MS = 2 * 60_000;

/**
 * The periodic credit sweep: refunds expired unused tokens (token_expired_unused); recovers submissions
 * interrupted by a crash, or left pending by a forward that failed without telling whether TTTranscribe stored the
 * job (a timeout, a reset: see submit-transcription.ts), i.e. a token left in `submitting` past
 * {@link STUCK_SUBMITTING_MS}, by asking TTTranscribe for
 * the job stored under the token's submission key: found -> the job is linked to the token and settled like any
 * job; never stored (404 job_not_found) -> refunded (submission_interrupted); TTTranscribe unreachable -> left
 * for the next sweep. It reconciles submitted jobs by polling TTTranscribe (completed -> consumed, failed -> refunded, unknown
 * to TTTranscribe -> refunded as job_lost), up to `pollConcurrency` polls at a time, paging through the submitted
 * jobs from one sweep to the next. Every refund is a conditional state change, so running it twice, or next to a
 * status poll, refunds nothing twice.
 * Tests call {@link Sweeper.runOnce} with an injected clock; main.ts calls {@link Sweeper.start}.
 *
 * @example
 * const report = await sweeper.runOnce(); // { expiredRefunded: 1, ... }
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<SweepReport> | undefined;
  /** Where the next sweep goes on polling submitted jobs (undefined: from the oldest). */
  private cursor: { submittedAt: number; jti: string } | undefined;
  /** Bounds the job status polls in flight. */
  private readonly poll: ReturnType<typeof pLimit>;

  constructor(
    private readonly deps: {
      tokens: TokenRecords;
      upstream: TttUpstream;
      now: () => number;
      logger: Logger;
      /** Most tokens of each kind handled per sweep (default 500). */
      batchSize?: number;
      /** Job status polls in flight at once (default 8). */
      pollConcurrency?: number;
      /** How long a token may stay in submitting before it is recovered (default {@link STUCK_SUBMITTING_MS}). */
      stuckSubmittingMs?: number;
    },
  ) {
    const concurrency = deps.pollConcurrency ?? 8;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error(`pollConcurrency must be an integer >= 1, got ${concurrency}`);
    this.poll = pLimit(concurrency);
  }

  /** Runs one sweep (or joins the one already running). */
  runOnce(): Promise<SweepReport> {
    this.running ??= this.sweep().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Sweeps every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.runOnce().catch((error: unknown) => this.deps.logger.error({ err: error }, 'credit sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private async sweep(): Promise<SweepReport> {
    const { tokens, upstream, logger } = this.deps;
    const limit = this.deps.batchSize ?? 500;
    const now = this.deps.now();
    const requestId = newRequestId();
    // A token is still accepted within the clock tolerance after exp; refund only once it is truly unusable.
    const expiredBefore = now - SERVICE_TOKEN.clockToleranceSec * 1000;
    let expiredRefunded = 0;
    for (const token of await tokens.expiredUnused(expiredBefore, limit)) {
      if (await tokens.refund(token.jti, 'vended', { reason: 'token_expired_unused', requestId })) expiredRefunded += 1;
    }
    const recovered = await this.recoverInterrupted(now, expiredBefore, limit, requestId);
    let jobsConsumed = recovered.jobsConsumed;
    let jobsRefunded = recovered.jobsRefunded;
    let pollErrors = recovered.pollErrors;
    // Page through the submitted jobs across sweeps, so every one is polled within ceil(jobs / batch) sweeps.
    const batch = await tokens.unsettled(limit, this.cursor);
    const last = batch[batch.length - 1];
    this.cursor =
      batch.length === limit && last?.submittedAt != null
        ? { submittedAt: last.submittedAt, jti: last.jti }
        : undefined;
    await Promise.all(
      batch.map((token) =>
        this.poll(async () => {
          // An open circuit answers every poll at once with an error: stop polling until the next sweep.
          if (!token.jobId || upstream.circuitState === 'open') return;
          try {
            const status = await upstream.status(token.jobId, requestId);
            const { outcome } = await settleJob(tokens, logger, token, status, requestId);
            if (outcome === 'consumed') jobsConsumed += 1;
            if (outcome === 'refunded') jobsRefunded += 1;
          } catch (error) {
            // TTTranscribe no longer knows the job (its data was lost): it will never complete, so the credit goes back.
            if (error instanceof UpstreamFailure && error.kind === 'job_not_found') {
              if (await tokens.refund(token.jti, 'submitted', { reason: 'job_lost', requestId })) jobsRefunded += 1;
              return;
            }
            pollErrors += 1;
            logger.warn({ err: error, jobId: token.jobId }, 'could not read a job status during the sweep');
          }
        }),
      ),
    );
    const { interruptedRefunded, interruptedLinked } = recovered;
    const report = { expiredRefunded, interruptedRefunded, interruptedLinked, jobsConsumed, jobsRefunded, pollErrors };
    if (Object.values(report).some((n) => n > 0)) logger.info({ ...report, requestId }, 'credit sweep');
    return report;
  }

  /** Submissions left in submitting: settled by their key (see the class). */
  private async recoverInterrupted(now: number, expiredBefore: number, limit: number, requestId: string) {
    const { tokens, upstream, logger } = this.deps;
    const counts = { interruptedRefunded: 0, interruptedLinked: 0, jobsConsumed: 0, jobsRefunded: 0, pollErrors: 0 };
    const stuck = await tokens.stuckSubmitting(now - (this.deps.stuckSubmittingMs ?? STUCK_SUBMITTING_MS), limit);
    await Promise.all(
      stuck.map((token) =>
        this.poll(async () => {
          if (token.submissionKey === null) {
            // Claimed by an engine older than submission keys: nothing to ask by; refunded once it cannot be used.
            if (
              token.expiresAt <= expiredBefore &&
              (await tokens.refund(token.jti, 'submitting', { reason: 'submission_interrupted', requestId }))
            )
              counts.interruptedRefunded += 1;
            return;
          }
          if (upstream.circuitState === 'open') return;
          let status;
          try {
            status = await upstream.jobByIdempotencyKey(token.submissionKey, requestId);
          } catch (error) {
            if (error instanceof UpstreamFailure && error.kind === 'job_not_found') {
              // Unless a resubmission resumed it since the lookup began (it may be storing the job right now).
              const context = { reason: 'submission_interrupted', requestId, unchangedSince: token.updatedAt };
              if (await tokens.refund(token.jti, 'submitting', context)) counts.interruptedRefunded += 1;
              return;
            }
            counts.pollErrors += 1;
            logger.warn(
              { err: error, tokenId: token.jti, submissionKey: token.submissionKey },
              'could not look up an interrupted submission during the sweep',
            );
            return;
          }
          if (!(await tokens.markSubmitted(token.jti, status.jobId))) return;
          counts.interruptedLinked += 1;
          logger.info(
            { requestId, tokenId: token.jti, jobId: status.jobId, submissionKey: token.submissionKey },
            'interrupted submission linked to its job',
          );
          const { outcome } = await settleJob(
            tokens,
            logger,
            (await tokens.get(token.jti)) ?? token,
            status,
            requestId,
          );
          if (outcome === 'consumed') counts.jobsConsumed += 1;
          if (outcome === 'refunded') counts.jobsRefunded += 1;
        }),
      ),
    );
    return counts;
  }
}
