import type { components } from '../../../generated/business-engine/schema.js';
import { secretId, type EngineConfig } from '../config.js';
import { redactDatabaseUrl } from '../../shared/db/postgres-url.js';

type AdminConfig = components['schemas']['AdminConfig'];

/**
 * The running configuration for GET /admin/config: non-secret settings as strings, and each secret as
 * `configured`/`missing` with its key id (X-Engine-Auth kid, the service-token kid, or a short HMAC-derived id
 * for USER_JWT_SECRET, ADMIN_TOKEN and ENGINE_METRICS_TOKEN). Never a secret value.
 *
 * @example
 * res.json(redactedConfig(config));
 */
export function redactedConfig(config: EngineConfig): AdminConfig {
  const [current, next] = config.tttKeys;
  const userJwt = config.userJwt;
  const settings: Record<string, string> = {
    ENGINE_HOST: config.host,
    ENGINE_PORT: String(config.port),
    ENGINE_DB: redactDatabaseUrl(config.dbPath),
    TTT_BASE_URL: config.tttBaseUrl,
    USER_JWT_MODE: userJwt.mode,
    USER_JWT_ALGORITHMS: userJwt.mode === 'hs256' ? 'HS256' : 'asymmetric (RS*, PS*, ES*, EdDSA)',
    SIGNUP_BONUS_CREDITS: String(config.signupBonusCredits),
    RATE_LIMIT_VEND_PER_MIN: String(config.rateLimits.vendPerMin),
    RATE_LIMIT_TRANSCRIBE_PER_MIN: String(config.rateLimits.transcribePerMin),
    RATE_LIMIT_READ_PER_MIN: String(config.rateLimits.readPerMin),
    RATE_LIMIT_INTEGRATIONS_PER_MIN: String(config.rateLimits.integrationsPerMin),
    RATE_LIMIT_ADMIN_PER_MIN: String(config.rateLimits.adminPerMin),
    RATE_LIMIT_HEALTH_PER_MIN: String(config.rateLimits.healthPerMin),
    UPSTREAM_TIMEOUT_MS: String(config.upstreamTimeoutMs),
    ENGINE_SWEEP_INTERVAL_SEC: String(config.sweepIntervalSec),
    DOCS_DIR: config.docsDir,
    LOG_LEVEL: config.logLevel,
  };
  if (userJwt.mode === 'jwks') settings['USER_JWT_JWKS_URL'] = userJwt.jwksUrl;
  if (userJwt.issuer) settings['USER_JWT_ISSUER'] = userJwt.issuer;
  if (userJwt.audience) settings['USER_JWT_AUDIENCE'] = userJwt.audience;
  const secret = (name: string, keyId: string | undefined) =>
    ({ name, status: keyId === undefined ? 'missing' : 'configured', keyId: keyId ?? null }) as const;
  return {
    ok: true,
    settings,
    secrets: [
      secret('TTT_SHARED_SECRET', current?.keyId),
      secret('TTT_SHARED_SECRET_NEXT', next?.keyId),
      secret('USER_JWT_SECRET', userJwt.mode === 'hs256' ? secretId('USER_JWT_SECRET', userJwt.secret) : undefined),
      secret('SERVICE_TOKEN_PRIVATE_KEY', config.serviceTokenKey.kid),
      secret('ADMIN_TOKEN', secretId('ADMIN_TOKEN', config.adminToken)),
      secret(
        'ENGINE_METRICS_TOKEN',
        config.metricsToken === undefined ? undefined : secretId('ENGINE_METRICS_TOKEN', config.metricsToken),
      ),
    ],
  };
}
