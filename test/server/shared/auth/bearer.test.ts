import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { credentialShape, readBearerToken } from '../../../../server/shared/auth/bearer.js';
import { refusalOf } from '../../../helpers/refusal.js';

const req = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as unknown as Request;

describe('readBearerToken', () => {
  it('returns the token of a well-formed header, case-insensitive scheme', () => {
    expect(readBearerToken(req('Bearer abc.def.ghi'), 'user_jwt')).toBe('abc.def.ghi');
    expect(readBearerToken(req('bearer abc'), 'user_jwt')).toBe('abc');
  });

  it('says the header is missing and which credential is expected', () => {
    expect(refusalOf(() => readBearerToken(req(), 'service_token'))).toEqual({
      code: 'missing_authorization',
      details: { expected: 'service_token' },
    });
    expect(refusalOf(() => readBearerToken(req('   '), 'user_jwt')).code).toBe('missing_authorization');
  });

  it('says the header is malformed, and why', () => {
    expect(refusalOf(() => readBearerToken(req('Basic dXNlcjpwYXNz'), 'user_jwt'))).toEqual({
      code: 'malformed_authorization',
      details: { reason: 'scheme_not_bearer', expected: 'user_jwt' },
    });
    expect(refusalOf(() => readBearerToken(req('Bearer'), 'user_jwt')).details['reason']).toBe(
      'token_missing_or_has_spaces',
    );
    expect(refusalOf(() => readBearerToken(req('Bearer a b'), 'user_jwt')).details['reason']).toBe(
      'token_missing_or_has_spaces',
    );
    expect(refusalOf(() => readBearerToken(req('Bearer a,Bearer b'), 'user_jwt')).code).toBe('malformed_authorization');
  });

  it('refuses several Authorization headers, counted on the raw headers (Node keeps only the first)', () => {
    const twice = {
      headers: { authorization: 'Bearer first' },
      rawHeaders: ['Authorization', 'Bearer first', 'authorization', 'Bearer second'],
    } as unknown as Request;
    expect(refusalOf(() => readBearerToken(twice, 'user_jwt'))).toEqual({
      code: 'malformed_authorization',
      details: { reason: 'several_values', expected: 'user_jwt' },
    });
    const once = {
      headers: { authorization: 'Bearer only' },
      rawHeaders: ['Host', 'x', 'Authorization', 'Bearer only'],
    } as unknown as Request;
    expect(readBearerToken(once, 'user_jwt')).toBe('only');
  });
});

describe('credentialShape', () => {
  it('tells credentials apart by form', () => {
    expect(credentialShape('tttsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8')).toBe('shared_secret');
    expect(credentialShape('yit_4fZ9abc')).toBe('integration_token');
    expect(credentialShape('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig')).toBe('jwt');
    expect(credentialShape('prod-service-secret-123')).toBe('opaque');
    expect(credentialShape('a.b.c')).toBe('opaque');
  });
});
