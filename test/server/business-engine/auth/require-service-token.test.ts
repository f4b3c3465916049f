import type { NextFunction, Request, Response } from 'express';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AuthDeps } from '../../../../server/business-engine/auth/auth-deps.js';
import { ConfiguredToken } from '../../../../server/business-engine/auth/bearer-kind.js';
import { assertUsable, requireServiceToken } from '../../../../server/business-engine/auth/require-service-token.js';
import { parseServiceTokenKey } from '../../../../server/business-engine/config.js';
import { newTokenId, ServiceTokenKeys } from '../../../../server/business-engine/tokens/service-token-keys.js';
import { SERVICE_TOKEN } from '../../../../server/protocol/service-token.js';
import type { TokenRecord, TokenStore } from '../../../../server/business-engine/tokens/token-store.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';
import { TEST_ADMIN_TOKEN, testServiceTokenKey } from '../../../helpers/engine-app.js';
import { mintUserJwt } from '../../../helpers/user-tokens.js';

const T0 = Date.UTC(2026, 0, 1);
const iat = T0 / 1000;

function record(jti: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    jti,
    userId: 'u1',
    state: 'vended',
    bucket: 'bonus',
    chargeEntryId: 1,
    requestId: null,
    issuedAt: T0,
    expiresAt: T0 + 900_000,
    jobId: null,
    submittedAt: null,
    settledAt: null,
    refundReason: null,
    submissionKey: null,
    updatedAt: T0,
    ...overrides,
  };
}

/** Runs the middleware on a request with `Authorization: Bearer token`; the outcome is the caller set, or the refusal. */
async function run(deps: AuthDeps, token: string): Promise<{ caller?: unknown; code?: string; details?: unknown }> {
  const req = { headers: { authorization: `Bearer ${token}` } } as unknown as Request;
  const res = { locals: { requestId: 'req_test' } } as unknown as Response;
  try {
    await new Promise<void>((resolve, reject) => {
      void (requireServiceToken(deps) as (req: Request, res: Response, next: NextFunction) => Promise<void>)(
        req,
        res,
        (error?: unknown) => {
          if (!error) resolve();
          else
            reject(error instanceof Error ? error : new Error('next() was called with a non-Error', { cause: error }));
        },
      ).catch(reject);
    });
    return { caller: res.locals['caller'] };
  } catch (error) {
    if (!isApiError(error)) throw error;
    return { code: error.code, details: error.details };
  }
}

async function setup(records: TokenRecord[]) {
  const keys = new ServiceTokenKeys(parseServiceTokenKey(await testServiceTokenKey('svc-unit')));
  const byJti = new Map(records.map((r) => [r.jti, r]));
  const lookups: string[] = [];
  const tokens = { get: (jti: string) => (lookups.push(jti), byJti.get(jti)) } as unknown as TokenStore;
  const deps = {
    serviceTokenKeys: keys,
    tokens,
    adminToken: new ConfiguredToken(TEST_ADMIN_TOKEN),
    tttKeys: [],
    logger: pino({ level: 'silent' }),
    now: () => T0,
  } as unknown as AuthDeps;
  const sign = (jti: string, sub = 'u1') =>
    keys.sign({ sub, jti, scope: SERVICE_TOKEN.scope, iat, exp: iat + SERVICE_TOKEN.lifetimeSec });
  return { deps, sign, lookups, keys };
}

describe('requireServiceToken', () => {
  it('accepts a vended token it signed, after verifying it, and sets the caller', async () => {
    const jti = newTokenId();
    const { deps, sign, lookups } = await setup([record(jti)]);
    const token = sign(jti);
    expect(await run(deps, token)).toEqual({ caller: { kind: 'service_token', userId: 'u1', jti, token } });
    expect(lookups).toEqual([jti]);
  });

  it('refuses a forged signature before reading any record', async () => {
    const jti = newTokenId();
    const { deps, sign, lookups } = await setup([record(jti)]);
    const token = sign(jti);
    const at = token.length - 10;
    const damaged = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    expect(await run(deps, damaged)).toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
    expect(lookups).toEqual([]);
  });

  it('refuses a well-signed token the engine has no record of, or whose record is another user', async () => {
    const jti = newTokenId();
    const { deps, sign } = await setup([record(jti, { userId: 'someone-else' })]);
    expect(await run(deps, sign(newTokenId()))).toMatchObject({
      code: 'invalid_token',
      details: { reason: 'unknown_token' },
    });
    expect(await run(deps, sign(jti))).toMatchObject({ code: 'invalid_token', details: { reason: 'unknown_token' } });
  });

  it('answers service_token_required for a user JWT and invalid_token for an opaque value', async () => {
    const { deps } = await setup([]);
    expect(await run(deps, await mintUserJwt({ nowMs: T0 }))).toMatchObject({
      code: 'service_token_required',
      details: { received: 'user_jwt' },
    });
    expect(await run(deps, 'not-a-token')).toMatchObject({ code: 'invalid_token', details: { reason: 'malformed' } });
  });

  it('answers the record state: refunded unused -> service_token_revoked, submitted -> service_token_already_used', async () => {
    const revoked = newTokenId();
    const used = newTokenId();
    const { deps, sign } = await setup([
      record(revoked, { state: 'refunded', settledAt: T0, refundReason: 'token_expired_unused' }),
      record(used, { state: 'submitted', jobId: 'job_USED0001' }),
    ]);
    expect(await run(deps, sign(revoked))).toMatchObject({
      code: 'service_token_revoked',
      details: { tokenId: revoked, reason: 'token_expired_unused' },
    });
    expect(await run(deps, sign(used))).toMatchObject({
      code: 'service_token_already_used',
      details: { tokenId: used, jobId: 'job_USED0001', refunded: false },
    });
  });
});

describe('assertUsable', () => {
  it('passes a vended token, and one left in submitting (its submission is resumed)', () => {
    expect(() => assertUsable(record('tok_A'))).not.toThrow();
    expect(() => assertUsable(record('tok_A', { state: 'submitting', submissionKey: 'sub_A' }))).not.toThrow();
  });

  it('answers a token that submitted a job already_used with its job id and whether it was refunded', () => {
    for (const state of ['submitted', 'consumed', 'refunded'] as const) {
      expect(() => assertUsable(record('tok_A', { state, jobId: 'job_AAAAAAAA' }))).toThrow(
        expect.objectContaining({
          code: 'service_token_already_used',
          details: { tokenId: 'tok_A', jobId: 'job_AAAAAAAA', refunded: state === 'refunded' },
        }),
      );
    }
    expect(() => assertUsable(record('tok_A', { state: 'refunded', refundReason: 'upstream_unavailable' }))).toThrow(
      expect.objectContaining({ code: 'service_token_revoked' }),
    );
  });
});
