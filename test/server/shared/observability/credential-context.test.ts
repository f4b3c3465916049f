import { describe, expect, it } from 'vitest';
import {
  describeCredential,
  describeJwtCredential,
} from '../../../../server/shared/observability/credential-context.js';
import { mintUserJwt } from '../../../helpers/user-tokens.js';

const NOW = Date.UTC(2026, 0, 1, 12);

describe('credential context for the logs', () => {
  it('describes a JWT from its claims without verifying it: claimed subject, age and expiry', async () => {
    const nowSec = NOW / 1000;
    const token = await mintUserJwt({
      sub: 'mobile-user-1',
      iat: nowSec - 900,
      exp: nowSec - 42,
      secret: 'a-key-the-server-does-not-know-at-all-!!',
    });
    expect(describeJwtCredential('user_jwt', token, NOW)).toEqual({
      kind: 'user_jwt',
      id: null,
      claimedSubject: 'mobile-user-1',
      issuedAt: new Date((nowSec - 900) * 1000).toISOString(),
      expiresAt: new Date((nowSec - 42) * 1000).toISOString(),
      ageSec: 900,
      expiresInSec: -42,
    });
  });

  it('gives only the kind for something that is not a JWT, and never the value', () => {
    const context = describeJwtCredential('user_jwt', 'not-a-jwt-secret-value', NOW);
    expect(context).toEqual({
      kind: 'user_jwt',
      id: null,
      claimedSubject: null,
      issuedAt: null,
      expiresAt: null,
      ageSec: null,
      expiresInSec: null,
    });
    expect(JSON.stringify(context)).not.toContain('secret-value');
  });

  it('clips an absurdly long claimed subject and ignores impossible times', async () => {
    const token = await mintUserJwt({ sub: 'x'.repeat(5000), iat: 1e20, exp: null });
    const context = describeJwtCredential('user_jwt', token, NOW);
    expect(context.claimedSubject).toHaveLength(129);
    expect(context).toMatchObject({ issuedAt: null, ageSec: null, expiresAt: null });
  });

  it('describes a credential from known times (ms)', () => {
    expect(
      describeCredential(
        { kind: 'integration_token', id: 'itk_1', subject: 'u1', issuedAtMs: NOW - 86_400_000, expiresAtMs: null },
        NOW,
      ),
    ).toEqual({
      kind: 'integration_token',
      id: 'itk_1',
      claimedSubject: 'u1',
      issuedAt: new Date(NOW - 86_400_000).toISOString(),
      expiresAt: null,
      ageSec: 86_400,
      expiresInSec: null,
    });
  });
});
