import CircuitBreaker from 'opossum';
import type { Logger } from 'pino';
import type { components } from '../../../generated/tttranscribe/schema.js';
import type { EngineAuthKey } from '../../protocol/engine-auth.js';
import type { UpstreamObserver } from './upstream-metrics.js';
import { createSignedTttClient, type SignedTttClient } from './ttt-client.js';
import { failureFromResponse, UpstreamFailure } from './upstream-failure.js';
import { JOB_ID_PATTERN } from '../../protocol/job-id.js';

type Schemas = components['schemas'];
export type UpstreamJobStatus = Schemas['JobStatus'];
export type UpstreamAccepted = Schemas['TranscribeAccepted'];
export type UpstreamEngineAuthInfo = Schemas['EngineAuthInfo'];
export type UpstreamEngineAuthValid = Schemas['EngineAuthValid'];

/** Timeout, circuit breaker and retry settings for calls to TTTranscribe. */
export interface UpstreamPolicy {
  readonly timeoutMs: number;
  /** How long the circuit stays open before one trial call (also the Retry-After of an open circuit). */
  readonly resetTimeoutMs: number;
  /** Calls in the rolling window before the error rate can open the circuit. */
  readonly volumeThreshold: number;
  readonly errorThresholdPercentage: number;
  readonly rollingWindowMs: number;
  /** Extra attempts for idempotent GETs (never for POST /transcribe). */
  readonly getRetries: number;
  readonly retryBaseDelayMs: number;
  /** Time limit of the one lookup by key that settles a submission TTTranscribe answered with an error. */
  readonly settleLookupTimeoutMs: number;
}

export const DEFAULT_UPSTREAM_POLICY: Omit<UpstreamPolicy, 'timeoutMs'> = {
  resetTimeoutMs: 10_000,
  volumeThreshold: 5,
  errorThresholdPercentage: 50,
  rollingWindowMs: 10_000,
  getRetries: 2,
  retryBaseDelayMs: 100,
  settleLookupTimeoutMs: 1_000,
};

interface FetchResult {
  data?: unknown;
  error?: unknown;
  response: Response;
}
type Attempt = (signal: AbortSignal) => Promise<FetchResult>;

/**
 * TTTranscribe as the engine sees it: every call goes through the signed client (X-Engine-Auth on each request),
 * an opossum circuit breaker with a timeout (an open circuit answers at once), and bounded retries with backoff
 * for idempotent GETs only. Failures come out as {@link UpstreamFailure}.
 *
 * @example
 * const upstream = new TttUpstream({ baseUrl, keys, now: Date.now, policy: { ...DEFAULT_UPSTREAM_POLICY, timeoutMs: 5000 }, logger });
 * const accepted = await upstream.submit({ serviceToken, body: { url }, requestId });
 */
export class TttUpstream {
  private readonly signed: SignedTttClient;
  private readonly breaker: CircuitBreaker<[Attempt, AbortSignal], FetchResult>;
  private openedAt = 0;
  /** Calls that reached the network (for tests and metrics: an open circuit does not add to it). */
  sent = 0;

  constructor(
    private readonly options: {
      baseUrl: string;
      keys: readonly EngineAuthKey[];
      now: () => number;
      policy: UpstreamPolicy;
      logger: Logger;
      /** Told about every call: operation, outcome (`ok`, a failure kind or `circuit_open`) and duration. */
      observe?: UpstreamObserver;
    },
  ) {
    const { policy, logger } = options;
    this.signed = createSignedTttClient({
      baseUrl: options.baseUrl,
      keys: options.keys,
      timeoutMs: policy.timeoutMs,
      now: options.now,
    });
    this.breaker = new CircuitBreaker(
      async (attempt: Attempt, signal: AbortSignal) => {
        this.sent += 1;
        let result: FetchResult;
        try {
          result = await attempt(signal);
        } catch (error) {
          throw translateThrown(error, policy.timeoutMs);
        }
        // 5xx counts against the circuit; a 4xx is an answer, not an outage.
        if (result.response.status >= 500) throw failureFromResponse(result.response, result.error);
        return result;
      },
      {
        name: 'tttranscribe',
        timeout: policy.timeoutMs,
        resetTimeout: policy.resetTimeoutMs,
        volumeThreshold: policy.volumeThreshold,
        errorThresholdPercentage: policy.errorThresholdPercentage,
        rollingCountTimeout: policy.rollingWindowMs,
      },
    );
    this.breaker.on('open', () => {
      this.openedAt = Date.now();
      logger.warn(
        { upstream: 'tttranscribe', resetTimeoutMs: policy.resetTimeoutMs },
        'circuit to TTTranscribe opened',
      );
    });
    this.breaker.on('halfOpen', () => logger.info({ upstream: 'tttranscribe' }, 'circuit to TTTranscribe half-open'));
    this.breaker.on('close', () => logger.info({ upstream: 'tttranscribe' }, 'circuit to TTTranscribe closed'));
  }

  /** 'closed', 'open' or 'half_open'. */
  get circuitState(): 'closed' | 'open' | 'half_open' {
    return this.breaker.halfOpen ? 'half_open' : this.breaker.opened ? 'open' : 'closed';
  }

  /**
   * The failure an open circuit answers with, without calling (undefined while closed or half-open), so a caller
   * can fail fast before doing work it would have to undo. Counted like any call refused by the open circuit.
   *
   * @example
   * const open = upstream.openCircuitFailure('submit');
   * if (open) throw open.toApiError();
   */
  openCircuitFailure(operation: string): UpstreamFailure | undefined {
    if (!this.breaker.opened || this.breaker.halfOpen) return undefined;
    this.options.observe?.(operation, 'circuit_open', 0);
    return this.circuitOpen();
  }

  /** The failure of a call the open circuit refused, with Retry-After the time left until it half-opens. */
  private circuitOpen(cause?: unknown): UpstreamFailure {
    const remainingMs = this.openedAt + this.options.policy.resetTimeoutMs - Date.now();
    const info = { reason: 'circuit_open' as const, retryAfterSec: Math.max(1, Math.ceil(remainingMs / 1000)) };
    return cause === undefined
      ? new UpstreamFailure('unavailable', info)
      : new UpstreamFailure('unavailable', info, { cause });
  }

  /**
   * POST /transcribe with the caller's service token and the submission's Idempotency-Key (recorded before this
   * call): TTTranscribe answers a repeated key with the job it already created (`Idempotent-Replayed: true`), so a
   * resubmission after a crash finds its job instead of making a second one. Never retried here.
   */
  async submit(input: {
    serviceToken: string;
    idempotencyKey: string;
    body: Schemas['TranscribeRequest'];
    requestId: string;
  }): Promise<UpstreamAccepted> {
    const { data } = await this.call('submit', (signal) =>
      this.signed.client.POST('/transcribe', {
        body: input.body,
        headers: { authorization: `Bearer ${input.serviceToken}`, 'idempotency-key': input.idempotencyKey },
        params: { header: { 'X-Request-ID': input.requestId } },
        signal,
      }),
    );
    const accepted = data as UpstreamAccepted | undefined;
    if (!accepted || typeof accepted.jobId !== 'string' || !JOB_ID_PATTERN.test(accepted.jobId)) {
      throw new UpstreamFailure('server_error', { upstreamStatus: 202, reason: 'unparsable' });
    }
    return accepted;
  }

  /** GET /status/{jobId}, retried with backoff on transient failures. */
  async status(jobId: string, requestId: string): Promise<UpstreamJobStatus> {
    const { data } = await this.withRetries(() =>
      this.call('status', (signal) =>
        this.signed.client.GET('/status/{jobId}', {
          params: { path: { jobId }, header: { 'X-Request-ID': requestId } },
          signal,
        }),
      ),
    );
    const status = data as UpstreamJobStatus | undefined;
    if (!status || status.jobId !== jobId || typeof status.status !== 'string') {
      throw new UpstreamFailure('server_error', { upstreamStatus: 200, reason: 'unparsable' });
    }
    return status;
  }

  /**
   * GET /jobs/by-idempotency-key/{key} (getJobByIdempotencyKey): the job TTTranscribe stored under a submission's
   * key, retried like a status read. Throws `job_not_found` when TTTranscribe never stored a job under it.
   */
  async jobByIdempotencyKey(key: string, requestId: string): Promise<UpstreamJobStatus> {
    const { data } = await this.withRetries(() => this.call('job_by_idempotency_key', this.byKey(key, requestId)));
    return jobStatusOf(data);
  }

  /**
   * The same lookup as {@link jobByIdempotencyKey}, asked once while a failed submission is being answered: one
   * attempt, a short time limit (`settleLookupTimeoutMs`, at most the upstream timeout), past the circuit (the
   * submission's own failure may just have opened it, and the answer settles a credit already taken).
   */
  async settleLookup(key: string, requestId: string): Promise<UpstreamJobStatus> {
    const { data } = await this.call('job_by_idempotency_key', this.byKey(key, requestId), {
      breaker: false,
      timeoutMs: Math.min(this.options.policy.settleLookupTimeoutMs, this.options.policy.timeoutMs),
    });
    return jobStatusOf(data);
  }

  /** The one GET /jobs/by-idempotency-key/{key} request, for {@link call} (with or without retries). */
  private byKey(key: string, requestId: string) {
    return (signal: AbortSignal) =>
      this.signed.client.GET('/jobs/by-idempotency-key/{key}', {
        params: { path: { key }, header: { 'X-Request-ID': requestId } },
        signal,
      });
  }

  /** GET /.well-known/engine-auth, bypassing the circuit (a health check must see the real state). */
  async engineAuthInfo(requestId: string): Promise<UpstreamEngineAuthInfo> {
    const { data } = await this.call(
      'engine_auth_info',
      (signal) =>
        this.signed.client.GET('/.well-known/engine-auth', {
          params: { header: { 'X-Request-ID': requestId } },
          signal,
        }),
      { breaker: false },
    );
    const info = data as UpstreamEngineAuthInfo | undefined;
    if (!info || !Array.isArray(info.acceptedKeyIds) || typeof info.serverTime !== 'number') {
      throw new UpstreamFailure('server_error', { upstreamStatus: 200, reason: 'unparsable' });
    }
    return info;
  }

  /** POST /test/validate-engine-auth with a fresh signature, bypassing the circuit. */
  async probe(requestId: string): Promise<UpstreamEngineAuthValid> {
    const { data } = await this.call(
      'probe',
      (signal) =>
        this.signed.client.POST('/test/validate-engine-auth', {
          body: {},
          params: { header: { 'X-Request-ID': requestId } },
          signal,
        }),
      { breaker: false },
    );
    return data as UpstreamEngineAuthValid;
  }

  async close(): Promise<void> {
    this.breaker.shutdown();
    await this.signed.close();
  }

  private async call(
    operation: string,
    attempt: Attempt,
    options: { breaker: boolean; timeoutMs?: number } = { breaker: true },
  ): Promise<FetchResult> {
    const controller = new AbortController();
    const started = performance.now();
    const observe = (outcome: string) =>
      this.options.observe?.(operation, outcome, (performance.now() - started) / 1000);
    let result: FetchResult;
    try {
      result = options.breaker
        ? await this.breaker.fire(attempt, controller.signal)
        : await this.direct(attempt, controller.signal, options.timeoutMs ?? this.options.policy.timeoutMs);
    } catch (error) {
      controller.abort();
      const failure = this.translate(error);
      observe(failure.info.reason === 'circuit_open' ? 'circuit_open' : failure.kind);
      throw failure;
    }
    if (!result.response.ok) {
      const failure = failureFromResponse(result.response, result.error);
      observe(failure.kind);
      throw failure;
    }
    observe('ok');
    return result;
  }

  private async direct(attempt: Attempt, signal: AbortSignal, timeoutMs: number): Promise<FetchResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UpstreamFailure('timeout', { timeoutMs })), timeoutMs);
    });
    try {
      this.sent += 1;
      const result = await Promise.race([
        attempt(signal).catch((error: unknown) => {
          throw translateThrown(error, timeoutMs);
        }),
        timeout,
      ]);
      if (result.response.status >= 500) throw failureFromResponse(result.response, result.error);
      return result;
    } finally {
      clearTimeout(timer);
    }
  }

  private translate(error: unknown): UpstreamFailure {
    if (error instanceof UpstreamFailure) return error;
    const code = (error as { code?: unknown }).code;
    if (code === 'EOPENBREAKER' || code === 'ESEMLOCKED') return this.circuitOpen(error);
    if (code === 'ETIMEDOUT')
      return new UpstreamFailure('timeout', { timeoutMs: this.options.policy.timeoutMs }, { cause: error });
    return translateThrown(error, this.options.policy.timeoutMs);
  }

  private async withRetries<T>(fn: () => Promise<T>): Promise<T> {
    const { getRetries, retryBaseDelayMs } = this.options.policy;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= getRetries || !isTransient(error)) throw error;
        const delay = retryBaseDelayMs * 2 ** attempt + Math.floor(Math.random() * retryBaseDelayMs);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** A JobStatus read by key, checked (an unreadable 200 is an upstream error). */
function jobStatusOf(data: unknown): UpstreamJobStatus {
  const status = data as UpstreamJobStatus | undefined;
  if (
    !status ||
    typeof status.jobId !== 'string' ||
    !JOB_ID_PATTERN.test(status.jobId) ||
    typeof status.status !== 'string'
  ) {
    throw new UpstreamFailure('server_error', { upstreamStatus: 200, reason: 'unparsable' });
  }
  return status;
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof UpstreamFailure)) return false;
  if (error.kind === 'unavailable') return error.info.reason !== 'circuit_open';
  return (
    error.kind === 'server_error' &&
    (error.info.reason === 'network_error' || [502, 503, 504].includes(error.info.upstreamStatus ?? 0))
  );
}

const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** Network and parse errors of one attempt, as upstream failures (keeping the original as `cause`). */
function translateThrown(error: unknown, timeoutMs: number): UpstreamFailure {
  if (error instanceof UpstreamFailure) return error;
  const codes = [(error as { code?: unknown }).code, ((error as { cause?: { code?: unknown } }).cause ?? {}).code];
  if (codes.includes('ECONNREFUSED'))
    return new UpstreamFailure('unavailable', { reason: 'connection_refused', retryAfterSec: 5 }, { cause: error });
  if (codes.some((c) => typeof c === 'string' && UNREACHABLE.has(c)))
    return new UpstreamFailure('unavailable', { reason: 'unreachable', retryAfterSec: 5 }, { cause: error });
  if (
    codes.some((c) => typeof c === 'string' && TIMEOUTS.has(c)) ||
    (error as { name?: unknown }).name === 'AbortError'
  ) {
    return new UpstreamFailure('timeout', { timeoutMs }, { cause: error });
  }
  if (error instanceof SyntaxError)
    return new UpstreamFailure('server_error', { reason: 'unparsable' }, { cause: error });
  return new UpstreamFailure('server_error', { reason: 'network_error' }, { cause: error });
}
