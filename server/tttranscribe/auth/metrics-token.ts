import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { decodeProtectedHeader } from 'jose';
import type { Logger } from 'pino';
import { credentialShape, readBearerToken } from '../../shared/auth/bearer.js';
import type { EngineAuthKey } from '../../protocol/engine-auth.js';
import { parseSharedSecret } from '../../protocol/engine-auth-secret.js';
import { ApiError } from '../../shared/errors/api-error.js';
import {
  describeCredential,
  describeJwtCredential,
  setCredential,
} from '../../shared/observability/credential-context.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

type BearerKind = 'shared_secret' | 'integration_token' | 'service_token' | 'user_jwt' | 'opaque';
const DESCRIBED: Record<Exclude<BearerKind, 'opaque'>, string> = {
  shared_secret: 'a TTTranscribe shared secret',
  integration_token: 'an integration token',
  service_token: 'a service token',
  user_jwt: 'a user JWT',
};

/** What a bearer value is, judged from its form (a JWT with typ ttt-service+jwt is a service token). */
function kindOf(token: string): BearerKind {
  const shape = credentialShape(token);
  if (shape !== 'jwt') return shape;
  try {
    return decodeProtectedHeader(token).typ === 'ttt-service+jwt' ? 'service_token' : 'user_jwt';
  } catch {
    return 'opaque';
  }
}

/**
 * The `auth` of GET /metrics: requires TTT_METRICS_TOKEN as a bearer token (constant time, over SHA-256 digests).
 * Without a configured token metrics are disabled and the answer is `not_found` saying how to enable them. A
 * shared secret sent here is `credential_type_mismatch` and logged as a leak with its key id (never the value);
 * a service token or other JWT is `credential_type_mismatch`; anything else is `invalid_token`.
 *
 * @example
 * operations.getMetrics = { auth: metricsTokenAuth({ token: config.metricsToken, now, logger, engineAuthKeys }), handler };
 */
export function metricsTokenAuth(options: {
  token: string | undefined;
  now: () => number;
  logger: Logger;
  engineAuthKeys: readonly EngineAuthKey[];
}): RequestHandler {
  const expected = options.token === undefined ? undefined : sha256(options.token);
  return (req, res, next) => {
    if (expected === undefined) {
      throw new ApiError(
        'not_found',
        'Metrics are disabled on this TTTranscribe: set TTT_METRICS_TOKEN to enable GET /metrics.',
        {
          details: { method: req.method, path: req.path, reason: 'metrics_disabled' },
        },
      );
    }
    const token = readBearerToken(req, 'metrics_token');
    if (timingSafeEqual(sha256(token), expected)) {
      setCredential(res, describeCredential({ kind: 'metrics_token' }, options.now()));
      res.locals['subject'] = 'metrics';
      next();
      return;
    }
    const kind = kindOf(token);
    setCredential(
      res,
      kind === 'opaque' || kind === 'shared_secret' || kind === 'integration_token'
        ? describeCredential({ kind }, options.now())
        : describeJwtCredential(kind, token, options.now()),
    );
    if (kind === 'shared_secret') {
      let keyId: string | null = null;
      try {
        keyId = parseSharedSecret('bearer', token).keyId;
      } catch {
        // Not a well-formed secret: no key id to report.
      }
      options.logger.warn(
        {
          requestId: res.locals['requestId'],
          keyId,
          ours: keyId !== null && options.engineAuthKeys.some((k) => k.keyId === keyId),
        },
        'a TTTranscribe shared secret was sent as a bearer token; treat it as leaked and rotate it',
      );
    }
    if (kind !== 'opaque') {
      throw new ApiError('credential_type_mismatch', `The bearer value is ${DESCRIBED[kind]}, not the metrics token.`, {
        details: { received: kind, expected: 'metrics_token' },
      });
    }
    throw new ApiError('invalid_token', 'The metrics token does not match.', {
      details: { credential: 'metrics_token', reason: 'metrics_token_mismatch' },
    });
  };
}
