import { describe, expect, it } from 'vitest';
import { SigningFailed } from '../../../../server/business-engine/db/engine-store.js';
import { isConnectionFailure, postgresFailure } from '../../../../server/business-engine/db/postgres-errors.js';
import { redactDatabaseUrl } from '../../../../server/shared/db/postgres-url.js';
import { ApiError } from '../../../../server/shared/errors/api-error.js';

describe('redactDatabaseUrl', () => {
  it('replaces the password of a URL, and leaves a file path as it is', () => {
    expect(redactDatabaseUrl('postgres://app:TEST-ONLY-pw@db.internal:5432/engine')).toBe(
      'postgres://app:***@db.internal:5432/engine',
    );
    expect(redactDatabaseUrl('postgresql://app@127.0.0.1/engine?sslmode=require&password=TEST-ONLY')).toBe(
      'postgresql://app@127.0.0.1/engine?sslmode=require&password=***',
    );
    expect(redactDatabaseUrl('./data/business-engine.db')).toBe('./data/business-engine.db');
    expect(redactDatabaseUrl(':memory:')).toBe(':memory:');
  });
});

describe('postgresFailure', () => {
  it('answers a database out of reach with 503 service_unavailable and Retry-After, keeping the cause', () => {
    for (const cause of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      new Error('Connection terminated unexpectedly'),
      // The pool's own connect timeout: a stalled database, or every connection taken.
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(isConnectionFailure(cause)).toBe(true);
      const error = postgresFailure('charge the credit', cause);
      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({
        code: 'service_unavailable',
        details: { retryAfterSec: 5, reason: 'database_unavailable' },
        headers: { 'Retry-After': '5' },
        cause,
      });
      if (!(error instanceof ApiError)) throw new Error('not an ApiError');
      expect(error.detail).not.toContain('ECONNREFUSED');
    }
  });

  it('answers a statement timeout, and a conflict still there after the retries, with 503 too (transient)', () => {
    for (const code of ['57014', '40P01', '40001']) {
      const cause = Object.assign(new Error(`TEST-ONLY ${code}`), { code });
      expect(postgresFailure('grant credits', cause)).toMatchObject({ code: 'service_unavailable', cause });
    }
  });

  it('passes catalog errors and signer failures through, and makes anything else internal_error', () => {
    const refusal = new ApiError('insufficient_credits', 'none left');
    expect(postgresFailure('x', refusal)).toBe(refusal);
    const signing = new SigningFailed('signing threw');
    expect(postgresFailure('x', signing)).toBe(signing);
    const unique = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    expect(postgresFailure('record the job', unique)).toMatchObject({
      code: 'internal_error',
      detail: 'Could not record the job.',
      cause: unique,
    });
  });
});
