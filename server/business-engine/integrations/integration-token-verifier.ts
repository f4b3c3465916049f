import { ApiError } from '../../shared/errors/api-error.js';
import { describeMalformed, hashIntegrationToken, parseIntegrationToken } from './integration-token-format.js';
import type { IntegrationTokenRecords } from '../db/engine-store.js';
import type { IntegrationTokenRecord } from './integration-token-store.js';

const credential = 'integration_token';

/**
 * Verifies integration tokens: the form first (prefix, length, checksum: no database look-up for a value that
 * was never a token), then the row by SHA-256, then revocation and expiry, and finally records the use (at most
 * one write a minute per token). Each failure is its own catalog code with details.
 *
 * @example
 * const verifier = new IntegrationTokenVerifier(store, Date.now);
 * const record = await verifier.verify(token, (found) => setCredential(res, describe(found)));
 */
export class IntegrationTokenVerifier {
  constructor(
    private readonly store: IntegrationTokenRecords,
    private readonly now: () => number,
  ) {}

  /**
   * Returns the token's record or throws integration_token_malformed, _unknown, _revoked or _expired.
   * `onIdentified` runs once the row is found, before the revocation and expiry checks, so a caller can log
   * whose token it was even when it is refused.
   */
  async verify(
    token: string,
    onIdentified?: (record: IntegrationTokenRecord) => void,
  ): Promise<IntegrationTokenRecord> {
    const parsed = parseIntegrationToken(token);
    if (!parsed.ok) {
      throw new ApiError(
        'integration_token_malformed',
        `The bearer value is not an integration token (${describeMalformed(parsed.reason)}); it may be a secret of another kind.`,
        {
          details: { credential, reason: parsed.reason },
        },
      );
    }
    const record = await this.store.findByHash(hashIntegrationToken(parsed.token));
    if (!record) {
      throw new ApiError('integration_token_unknown', 'This integration token was not issued by this engine.', {
        details: { credential },
      });
    }
    onIdentified?.(record);
    const nowMs = this.now();
    if (record.revokedAt !== null) {
      throw new ApiError(
        'integration_token_revoked',
        `Integration token ${record.id} was revoked at ${iso(record.revokedAt)}.`,
        {
          details: { credential, tokenId: record.id, revokedAt: iso(record.revokedAt) },
        },
      );
    }
    if (record.expiresAt !== null && record.expiresAt <= nowMs) {
      const ago = Math.round((nowMs - record.expiresAt) / 1000);
      throw new ApiError('integration_token_expired', `Integration token ${record.id} expired ${ago} seconds ago.`, {
        details: { credential, tokenId: record.id, expiredAt: iso(record.expiresAt), serverTime: iso(nowMs) },
      });
    }
    await this.store.touch(record);
    return record;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
