import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../server/shared/errors/api-error.js';
import { authChallenge } from '../../../../server/shared/errors/auth-challenge.js';

describe('authChallenge', () => {
  it('challenges with Bearer and no error when no credential was sent (RFC 6750 3.1)', () => {
    expect(authChallenge(new ApiError('missing_authorization'), 'Business Engine')).toBe(
      'Bearer realm="Business Engine"',
    );
  });

  it('says invalid_request for a malformed header and invalid_token for a credential that does not verify, with the detail', () => {
    expect(
      authChallenge(
        new ApiError('malformed_authorization', 'The request carries 2 Authorization headers; send exactly one.'),
        'Business Engine',
      ),
    ).toBe(
      'Bearer realm="Business Engine", error="invalid_request", error_description="The request carries 2 Authorization headers; send exactly one.", pluct_code="malformed_authorization"',
    );
    expect(authChallenge(new ApiError('token_expired', 'The user JWT expired 42 seconds ago.'), 'TTTranscribe')).toBe(
      'Bearer realm="TTTranscribe", error="invalid_token", error_description="The user JWT expired 42 seconds ago.", pluct_code="token_expired"',
    );
  });

  it('uses the X-Engine-Auth scheme for X-Engine-Auth failures', () => {
    expect(authChallenge(new ApiError('engine_auth_key_mismatch', 'Signed with key id 3f1c.'), 'TTTranscribe')).toBe(
      'X-Engine-Auth realm="TTTranscribe", version="v1", error="engine_auth_key_mismatch", error_description="Signed with key id 3f1c."',
    );
    expect(authChallenge(new ApiError('missing_engine_auth_header'), 'TTTranscribe')).toMatch(
      /^X-Engine-Auth realm="TTTranscribe", version="v1", error="missing_engine_auth_header"/,
    );
  });

  it('keeps error_description within the characters RFC 6750 allows, and short', () => {
    const challenge = authChallenge(
      new ApiError('invalid_token', `The token's "kid" is \\unknown\\ — ${'x'.repeat(300)}`),
      'r',
    ) as string;
    const description = /error_description="([^"]*)"/.exec(challenge)?.[1] as string;
    expect(description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
    expect(description.length).toBeLessThanOrEqual(200);
    expect(description.startsWith("The token's 'kid' is /unknown/ ? ")).toBe(true);
  });

  it('answers nothing for any status other than 401', () => {
    expect(authChallenge(new ApiError('insufficient_scope'), 'r')).toBeUndefined();
    expect(authChallenge(new ApiError('not_found'), 'r')).toBeUndefined();
  });
});
