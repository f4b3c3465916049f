import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { components } from '../../../generated/business-engine/schema.js';
import type { EngineAuthKey } from '../../protocol/engine-auth.js';
import type { TttUpstream, UpstreamEngineAuthInfo } from '../upstream/ttt-upstream.js';
import { UpstreamFailure } from '../upstream/upstream-failure.js';
import { SERVICE_TOKEN } from '../../protocol/service-token.js';
import { newTokenId, type SignServiceToken } from '../tokens/service-token-keys.js';

type IntegrationReport = components['schemas']['IntegrationReport'];
type IntegrationCheck = components['schemas']['IntegrationCheck'];

/** Largest clock difference the check calls small (a quarter of TTTranscribe's tolerance, at most 60 s). */
const MAX_SKEW_SEC = 60;
const MIXUP_FIX =
  'Set the same TTT_SHARED_SECRET on both services (the value must start with tttsk_ on both; do not ' +
  'base64-encode it or decode it on one side only), then restart both. `pluct doctor` shows which side differs.';

/** What the service-token check needs: the signer that vends tokens and the JWK Set the engine publishes. */
export interface ServiceTokenSelfCheck {
  readonly sign: SignServiceToken;
  /** What GET /.well-known/jwks.json serves (TTTranscribe verifies service tokens against it). */
  readonly jwks: () => JSONWebKeySet;
}

/**
 * Runs the TTTranscribe integration checks in order: shared secret configured, TTTranscribe reachable, our key id
 * accepted, a signed probe accepted, small clock skew, and a freshly signed service token verifying against the
 * engine's own published JWKS (as TTTranscribe will verify it). A check that cannot run because an earlier one
 * failed says so. Reveals key ids only, never a secret.
 *
 * @example
 * const report = await checkTttIntegration({ keys: config.tttKeys, upstream, now: Date.now, requestId });
 * res.status(report.ok ? 200 : 503).json(report);
 */
export async function checkTttIntegration(deps: {
  keys: readonly EngineAuthKey[];
  upstream: TttUpstream;
  now: () => number;
  requestId: string;
  serviceTokens: ServiceTokenSelfCheck;
}): Promise<IntegrationReport> {
  const engineKeyIds = deps.keys.map((k) => k.keyId);
  const checks: IntegrationCheck[] = [];
  const pass = (name: IntegrationCheck['name'], detail: string, data?: Record<string, unknown>) =>
    checks.push({ name, ok: true, detail, fix: null, ...(data ? { data } : {}) });
  const fail = (name: IntegrationCheck['name'], detail: string, fix: string, data?: Record<string, unknown>) =>
    checks.push({ name, ok: false, detail, fix, ...(data ? { data } : {}) });

  if (engineKeyIds.length > 0) {
    pass('shared_secret_configured', `TTT_SHARED_SECRET is configured (key id ${engineKeyIds.join(', ')}).`, {
      keyIds: engineKeyIds,
    });
  } else {
    fail(
      'shared_secret_configured',
      'No TTT_SHARED_SECRET is configured.',
      'Set TTT_SHARED_SECRET (generate one with `pluct secret new`) on both services.',
    );
  }

  let info: UpstreamEngineAuthInfo | undefined;
  let skewSec: number | undefined;
  const started = deps.now();
  try {
    info = await deps.upstream.engineAuthInfo(deps.requestId);
    const finished = deps.now();
    skewSec = Math.round(info.serverTime - (started + finished) / 2000);
    pass('ttt_reachable', `TTTranscribe answered GET /.well-known/engine-auth in ${finished - started} ms.`);
  } catch (error) {
    fail(
      'ttt_reachable',
      `TTTranscribe did not answer GET /.well-known/engine-auth: ${describeFailure(error)}.`,
      'Check that TTTranscribe runs and that TTT_BASE_URL points at it.',
      failureData(error),
    );
  }

  const accepted = info?.acceptedKeyIds ?? null;
  if (!accepted) {
    fail('key_id_accepted', 'Not checked: TTTranscribe is not reachable.', 'Fix the reachability check first.');
  } else if (engineKeyIds.some((id) => accepted.includes(id))) {
    pass(
      'key_id_accepted',
      `TTTranscribe accepts key id ${engineKeyIds.filter((id) => accepted.includes(id)).join(', ')}.`,
    );
  } else {
    fail(
      'key_id_accepted',
      `TTTranscribe accepts key ids [${accepted.join(', ')}], not ${engineKeyIds.join(', ')}.`,
      MIXUP_FIX,
      { engineKeyIds, tttAcceptedKeyIds: accepted },
    );
  }

  if (!info) {
    fail('signed_probe', 'Not checked: TTTranscribe is not reachable.', 'Fix the reachability check first.');
  } else {
    try {
      const valid = await deps.upstream.probe(deps.requestId);
      pass('signed_probe', `A signed probe to /test/validate-engine-auth was accepted (key id ${valid.keyId}).`, {
        keyId: valid.keyId,
      });
    } catch (error) {
      const keyCheckFailed = checks.some((c) => c.name === 'key_id_accepted' && !c.ok);
      fail(
        'signed_probe',
        `TTTranscribe answered ${describeFailure(error)}.`,
        keyCheckFailed ? 'Fix the key id check first.' : probeFix(error),
        failureData(error),
      );
    }
  }

  if (skewSec === undefined || !info) {
    fail('clock_skew', 'Not checked: TTTranscribe is not reachable.', 'Fix the reachability check first.');
  } else {
    const limit = Math.min(MAX_SKEW_SEC, Math.floor(info.toleranceSec / 4));
    const detail = `Clock skew is ${skewSec} s (tolerance ${info.toleranceSec} s).`;
    if (Math.abs(skewSec) <= limit) pass('clock_skew', detail, { skewSec });
    else
      fail('clock_skew', detail, "Synchronise both hosts' clocks with NTP.", {
        skewSec,
        toleranceSec: info.toleranceSec,
      });
  }

  const verifies = await serviceTokenVerifies(deps.serviceTokens, deps.now());
  if (verifies.ok) pass('service_token_verifies', verifies.detail, { kid: verifies.kid });
  else
    fail(
      'service_token_verifies',
      verifies.detail,
      verifies.fix,
      verifies.kid === undefined ? undefined : { kid: verifies.kid },
    );

  return {
    ok: checks.every((c) => c.ok),
    engineKeyIds,
    tttAcceptedKeyIds: accepted,
    checks,
    checkedAt: new Date(deps.now()).toISOString(),
  };
}

/**
 * Signs a probe token as a vend does and verifies it with jose against the published JWK Set, as TTTranscribe
 * does: a signing key whose private part does not match the published public key (or a signer that signs with
 * another key) fails here, instead of every submission being refused upstream and refunded. No credit is taken.
 */
async function serviceTokenVerifies(
  self: ServiceTokenSelfCheck,
  nowMs: number,
): Promise<
  | { ok: true; detail: string; kid: string | undefined }
  | { ok: false; detail: string; fix: string; kid: string | undefined }
> {
  const iat = Math.floor(nowMs / 1000);
  let token: string;
  try {
    token = self.sign({
      sub: 'integration-check',
      jti: newTokenId('probe_'),
      scope: SERVICE_TOKEN.scope,
      iat,
      exp: iat + 60,
    });
  } catch (error) {
    return {
      ok: false,
      detail: `The service-token signer failed: ${error instanceof Error ? error.name : 'an unexpected error'}.`,
      fix: 'Check SERVICE_TOKEN_PRIVATE_KEY and the engine logs.',
      kid: undefined,
    };
  }
  const jwks = self.jwks();
  const kid = jwks.keys[0]?.kid;
  try {
    await jwtVerify(token, createLocalJWKSet(jwks), {
      algorithms: [SERVICE_TOKEN.alg],
      typ: SERVICE_TOKEN.typ,
      issuer: SERVICE_TOKEN.issuer,
      audience: SERVICE_TOKEN.audience,
      currentDate: new Date(nowMs),
    });
    return {
      ok: true,
      detail: `A freshly signed service token verifies against the engine's published JWKS (kid ${String(kid)}).`,
      kid,
    };
  } catch (error) {
    return {
      ok: false,
      detail: `A freshly signed service token does not verify against the engine's published JWKS (${error instanceof Error ? error.name : 'error'}): TTTranscribe would refuse every submission.`,
      fix: 'Set SERVICE_TOKEN_PRIVATE_KEY to one complete private JWK (its d, x and y from the same key pair), then restart the engine.',
      kid,
    };
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof UpstreamFailure)) return 'an unexpected error';
  const i = error.info;
  if (i.upstreamStatus && i.upstreamCode) return `${i.upstreamStatus} ${i.upstreamCode}`;
  if (error.kind === 'timeout') return `no answer within ${i.timeoutMs} ms`;
  return (i.reason ?? error.kind).replace(/_/g, ' ');
}

function failureData(error: unknown): Record<string, unknown> | undefined {
  if (!(error instanceof UpstreamFailure)) return undefined;
  const { upstreamStatus, upstreamCode, upstreamRequestId, reason } = error.info;
  return Object.fromEntries(
    Object.entries({ upstreamStatus, upstreamCode, upstreamRequestId, reason }).filter(
      ([, v]) => v !== undefined && v !== null,
    ),
  );
}

function probeFix(error: unknown): string {
  const code = error instanceof UpstreamFailure ? error.info.upstreamCode : undefined;
  switch (code) {
    case 'engine_auth_key_mismatch':
      return MIXUP_FIX;
    case 'engine_auth_timestamp_skewed':
      return "Synchronise both hosts' clocks with NTP.";
    case 'invalid_engine_auth_header':
      return "Compare the engine's string to sign with details.stringToSign (a proxy that rewrites the path or body breaks the signature); if they are equal, the secrets differ.";
    default:
      return "Read TTTranscribe's logs for the probe's request id.";
  }
}
