import { describe, expect, it } from 'vitest';
import { decodePayloadSegment, unverifiedJwtPayload } from '../../../../server/shared/auth/unverified-jwt.js';

const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const HEADER = segment({ alg: 'ES256', typ: 'JWT' });

describe('unverified JWT payloads', () => {
  it('reads the claims of a compact JWS, signature or not', () => {
    expect(unverifiedJwtPayload(`${HEADER}.${segment({ sub: 'u1', jti: 'tok_1', exp: 2 })}.c2ln`)).toEqual({
      sub: 'u1',
      jti: 'tok_1',
      exp: 2,
    });
    expect(unverifiedJwtPayload(`${HEADER}.${segment({ sub: 'u1' })}.`)).toEqual({ sub: 'u1' });
  });

  it('gives undefined for a payload that is not a JSON object', () => {
    for (const value of [[1, 2], 42, 'text', null, true]) {
      expect(decodePayloadSegment(segment(value))).toBeUndefined();
      expect(unverifiedJwtPayload(`${HEADER}.${segment(value)}.c2ln`)).toBeUndefined();
    }
    expect(decodePayloadSegment(Buffer.from('{"sub":').toString('base64url'))).toBeUndefined();
  });

  it('gives undefined for anything that is not header.payload.signature in base64url', () => {
    const payload = segment({ sub: 'u1' });
    for (const token of [
      '',
      'opaque-value',
      `${HEADER}.${payload}`,
      `${HEADER}.${payload}.sig.extra`,
      `${HEADER}.${payload}+/.sig`,
      `.${payload}.sig`,
    ]) {
      expect(unverifiedJwtPayload(token)).toBeUndefined();
    }
  });
});
