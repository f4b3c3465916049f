import { createBusinessEngineClient } from '../../../generated/business-engine/client.js';
import { createTttranscribeClient } from '../../../generated/tttranscribe/client.js';
import { ENGINE_AUTH_HEADER, signEngineAuth, type EngineAuthKey } from '../../../server/protocol/engine-auth.js';
import { newRequestId } from '../../sdk/request-id.js';
import type { Facts, Probe } from './facts.js';
import type { EngineAuthInfo, EngineAuthValid, EngineHealth, IntegrationReport, TttHealth } from './schemas.js';
import { sampleReplicas } from './replica-sampling.js';

// Facts and Probe live in facts.ts, so that the judges need not import this file (no cycle through
// replica-sampling.ts); re-exported because they are what gatherFacts() returns.
export type { Facts, Probe };

export interface ProbeTargets {
  readonly engineUrl: string;
  readonly tttUrl: string;
  readonly timeoutMs: number;
  /** Local X-Engine-Auth keys (from env/.env), for the signed probe. */
  readonly localKeys: readonly EngineAuthKey[] | undefined;
  /** A short-lived user JWT minted from the local USER_JWT_SECRET, to check the engine verifies it. */
  readonly devUserToken: string | undefined;
  readonly now: () => number;
  /** Requests per service to find the replicas behind a load balancer; 0 or absent: no sampling. */
  readonly replicaSamples?: number;
}

type Answer = { data?: unknown; error?: unknown; response: Response };

/**
 * Runs every probe of `pluct doctor` concurrently, through the generated clients. Never throws for an HTTP or
 * network failure: each becomes a failed {@link Probe} with the reason.
 *
 * @example
 * const facts = await gatherFacts({ engineUrl, tttUrl, timeoutMs: 5000, localKeys, devUserToken, now: Date.now });
 */
export async function gatherFacts(targets: ProbeTargets): Promise<Facts> {
  const engine = createBusinessEngineClient({ baseUrl: targets.engineUrl });
  const ttt = createTttranscribeClient({ baseUrl: targets.tttUrl });
  const headers = () => ({ 'X-Request-ID': newRequestId() });
  const opts = () => ({ headers: headers(), signal: AbortSignal.timeout(targets.timeoutMs) });

  async function probe<T>(call: () => Promise<Answer>, acceptStatuses: number[] = []): Promise<Probe<T>> {
    const started = targets.now();
    try {
      const { data, error, response } = await call();
      const finished = targets.now();
      const body = data ?? error;
      if (response.ok || acceptStatuses.includes(response.status)) {
        return {
          ok: true,
          value: body as T,
          status: response.status,
          rttMs: finished - started,
          localMidMs: (started + finished) / 2,
        };
      }
      const problem = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const code = typeof problem['code'] === 'string' ? problem['code'] : undefined;
      const detail = typeof problem['detail'] === 'string' ? problem['detail'] : undefined;
      const instance = response.headers.get('x-instance-id');
      return {
        ok: false,
        status: response.status,
        reason: `answered ${response.status}${code ? ` ${code}` : ''}`,
        ...(code ? { code } : {}),
        ...(detail ? { detail } : {}),
        ...(instance ? { instance } : {}),
        ...(typeof problem['details'] === 'object' && problem['details'] !== null
          ? { details: problem['details'] as Record<string, unknown> }
          : {}),
      };
    } catch (error) {
      return { ok: false, reason: describeThrown(error, targets.timeoutMs) };
    }
  }

  const signedProbe = targets.localKeys && targets.localKeys.length > 0 ? signed(targets.localKeys) : undefined;
  function signed(keys: readonly EngineAuthKey[]): Promise<Probe<EngineAuthValid>> {
    const body = {};
    const target = new URL(`${targets.tttUrl}/test/validate-engine-auth`).pathname;
    return probe(() => {
      // openapi-fetch sends JSON.stringify(body): sign exactly those bytes and that target.
      const { header } = signEngineAuth({
        keys,
        method: 'POST',
        target,
        body: JSON.stringify(body),
        bearerToken: undefined,
        now: targets.now,
      });
      return ttt.POST('/test/validate-engine-auth', {
        body,
        headers: { ...headers(), [ENGINE_AUTH_HEADER]: header },
        signal: AbortSignal.timeout(targets.timeoutMs),
      });
    });
  }

  const userToken = targets.devUserToken;
  const samples = targets.replicaSamples ?? 0;
  const [engineHealth, tttHealth, engineAuthInfo, integration, signedResult, userResult, replicas] = await Promise.all([
    probe<EngineHealth>(() => engine.GET('/health', opts())),
    probe<TttHealth>(() => ttt.GET('/health', opts())),
    probe<EngineAuthInfo>(() => ttt.GET('/.well-known/engine-auth', opts())),
    probe<IntegrationReport>(() => engine.GET('/health/ttt-integration', opts()), [503]),
    signedProbe,
    userToken === undefined
      ? undefined
      : probe<unknown>(() =>
          engine.GET('/v1/credits/ledger', {
            params: { query: { limit: 1 } },
            headers: { ...headers(), Authorization: `Bearer ${userToken}` },
            signal: AbortSignal.timeout(targets.timeoutMs),
          }),
        ),
    samples > 0
      ? sampleReplicas({
          engineUrl: targets.engineUrl,
          tttUrl: targets.tttUrl,
          maxTries: samples,
          timeoutMs: targets.timeoutMs,
        })
      : undefined,
  ]);
  return {
    engineHealth,
    tttHealth,
    engineAuthInfo,
    integration,
    signedProbe: signedResult,
    userToken: userResult,
    ...(replicas ? { replicas } : {}),
  };
}

function describeThrown(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))
    return `no answer within ${timeoutMs} ms`;
  if (error instanceof SyntaxError) return 'answered with a body that is not JSON (is this the right URL?)';
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code =
    typeof (cause as { code?: unknown } | null | undefined)?.code === 'string'
      ? (cause as { code: string }).code
      : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (code === 'ENOTFOUND') return 'host not found';
  if (cause instanceof Error && cause.message === 'bad port')
    return 'not tried: fetch refuses this port as unsafe (choose another port)';
  return cause instanceof Error ? cause.message : String(cause);
}
