import type { components } from '../../../generated/business-engine/schema.js';
import type { IntegrationTokenRecord } from './integration-token-store.js';

type IntegrationToken = components['schemas']['IntegrationToken'];

/**
 * The API form of a stored token (spec: IntegrationToken): id, description, scopes and ISO times. The token
 * itself is not in the record, so it cannot end up here.
 *
 * @example
 * res.json({ ok: true, tokens: store.listByUser(userId, { limit: 50 }).map(integrationTokenBody), nextCursor: null });
 */
export function integrationTokenBody(record: IntegrationTokenRecord): IntegrationToken {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: record.id,
    description: record.description,
    scopes: [...record.scopes],
    createdAt: new Date(record.createdAt).toISOString(),
    lastUsedAt: iso(record.lastUsedAt),
    expiresAt: iso(record.expiresAt),
    revokedAt: iso(record.revokedAt),
  };
}
