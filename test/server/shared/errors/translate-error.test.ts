import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../server/shared/errors/api-error.js';
import { problemBody } from '../../../../server/shared/errors/problem.js';
import { toJsonPointer, translateError } from '../../../../server/shared/errors/translate-error.js';
import { errorCatalog } from '../../../../generated/errors.js';

describe('translateError', () => {
  it('keeps ApiErrors as they are', () => {
    const error = new ApiError('rate_limited', 'slow down', { headers: { 'Retry-After': '3' } });
    expect(translateError(error)).toBe(error);
  });

  it('translates body-parser errors and keeps the cause', () => {
    const tooLarge = Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413, limit: 100 });
    const translated = translateError(tooLarge);
    expect(translated).toMatchObject({ code: 'payload_too_large', details: { limitBytes: 100 } });
    expect(translated.cause).toBe(tooLarge);
    expect(translateError(Object.assign(new Error('x'), { type: 'entity.parse.failed', status: 400 })).code).toBe(
      'invalid_request',
    );
    expect(translateError(Object.assign(new Error('x'), { type: 'charset.unsupported', status: 415 })).code).toBe(
      'unsupported_media_type',
    );
  });

  it('names the Content-Type that was sent in an unsupported_media_type (null when none was sent)', () => {
    const charset = Object.assign(new Error('unsupported charset "LATIN1"'), {
      type: 'charset.unsupported',
      status: 415,
      charset: 'latin1',
    });
    expect(translateError(charset, { contentType: 'application/json; charset=latin1' })).toMatchObject({
      code: 'unsupported_media_type',
      details: { received: 'application/json; charset=latin1' },
    });
    const validator = Object.assign(new Error('unsupported media type text/plain'), { status: 415 });
    expect(translateError(validator, { contentType: ' text/plain ' }).details).toEqual({ received: 'text/plain' });
    expect(translateError(validator, {}).details).toEqual({ received: null });
    expect(translateError(validator, { contentType: '' }).details).toEqual({ received: null });
    const long = translateError(validator, { contentType: `text/plain; x=${'a'.repeat(500)}` }).details['received'];
    expect(typeof long === 'string' && long.length <= 203 && long.startsWith('text/plain; x=aaa')).toBe(true);
  });

  it('translates validator errors into pointers', () => {
    const error = Object.assign(new Error('bad'), {
      status: 400,
      errors: [{ path: '/body/url', message: 'must be string' }],
    });
    expect(translateError(error)).toMatchObject({
      code: 'invalid_request',
      detail: '/body/url: must be string.',
      details: { errors: [{ pointer: '/body/url', message: 'must be string' }] },
    });
  });

  it('turns anything unknown into internal_error, never exposing its message', () => {
    const translated = translateError(new Error('SQLITE_CORRUPT: secret path /var/db'));
    expect(translated.code).toBe('internal_error');
    expect(translated.detail).not.toContain('SQLITE');
  });
});

describe('toJsonPointer', () => {
  it('converts dotted paths and escapes per RFC 6901', () => {
    expect(toJsonPointer('.body.items[2].name')).toBe('/body/items/2/name');
    expect(toJsonPointer('.body.a/b')).toBe('/body/a~1b');
    expect(toJsonPointer('/query/x')).toBe('/query/x');
  });
});

describe('problemBody', () => {
  it('carries the catalog metadata of the code', () => {
    const body = problemBody('upstream_unavailable', 'req_1', 'down', { retryAfterSec: 5 });
    const meta = errorCatalog.upstream_unavailable;
    expect(body).toEqual({
      type: '/docs/errors.html#upstream_unavailable',
      title: meta.title,
      status: 503,
      detail: 'down',
      ok: false,
      code: 'upstream_unavailable',
      requestId: 'req_1',
      retryable: true,
      responsibility: 'upstream',
      guidance: meta.guidance,
      details: { retryAfterSec: 5 },
    });
  });
});
