import type { Logger } from 'pino';
import type { EngineAuthKey } from '../../protocol/engine-auth.js';
import type { IntegrationTokenVerifier } from '../integrations/integration-token-verifier.js';
import type { ServiceTokenKeys } from '../tokens/service-token-keys.js';
import type { TokenRecords } from '../db/engine-store.js';
import type { ConfiguredToken } from './bearer-kind.js';
import type { VerifyUserJwt } from './user-jwt-verifier.js';

/** What the credential checks need. */
export interface AuthDeps {
  readonly verifyUserJwt: VerifyUserJwt;
  readonly serviceTokenKeys: ServiceTokenKeys;
  readonly tokens: TokenRecords;
  readonly integrationTokens: IntegrationTokenVerifier;
  readonly adminToken: ConfiguredToken;
  /** ENGINE_METRICS_TOKEN: reads GET /metrics only. */
  readonly metricsToken?: ConfiguredToken;
  /** Only to report the key id of a shared secret sent as a bearer. */
  readonly tttKeys: readonly EngineAuthKey[];
  readonly logger: Logger;
  readonly now: () => number;
}
