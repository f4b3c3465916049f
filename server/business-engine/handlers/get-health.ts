import type { RequestHandler } from 'express';
import type { components } from '../../../generated/business-engine/schema.js';
import type { BuildInfo } from '../build-info.js';
import { secretId, type EngineConfig } from '../config.js';

type EngineKeyIds = components['schemas']['EngineKeyIds'];

/**
 * The public key ids of this replica's secrets (never a secret): the user-JWT secret's id (null with a JWKS),
 * the service-token signing kid and the X-Engine-Auth key ids, for `pluct doctor` to compare replicas.
 *
 * @example
 * healthKeyIds(config); // { userJwt: '3f…', serviceToken: 'NzbL…', tttSharedSecret: ['k1…'] }
 */
export function healthKeyIds(config: Pick<EngineConfig, 'userJwt' | 'serviceTokenKey' | 'tttKeys'>): EngineKeyIds {
  return {
    userJwt: config.userJwt.mode === 'hs256' ? secretId('USER_JWT_SECRET', config.userJwt.secret) : null,
    serviceToken: config.serviceTokenKey.kid,
    tttSharedSecret: config.tttKeys.map((k) => k.keyId),
  };
}

/**
 * GET /health: liveness with version and build information, this replica's instance id and its public key ids;
 * no credentials.
 *
 * @example
 * operations.getHealth = { handler: getHealth({ build, startedAt: Date.now(), now: Date.now, instanceId, keyIds }) };
 */
export function getHealth(deps: {
  build: BuildInfo;
  startedAt: number;
  now: () => number;
  instanceId: string;
  keyIds: EngineKeyIds;
}): RequestHandler {
  return (_req, res) => {
    const now = deps.now();
    const body: components['schemas']['EngineHealth'] = {
      ok: true,
      service: 'business-engine',
      build: deps.build,
      uptimeSec: Math.max(0, Math.round((now - deps.startedAt) / 1000)),
      serverTime: new Date(now).toISOString(),
      instanceId: deps.instanceId,
      keyIds: deps.keyIds,
    };
    res.json(body);
  };
}
