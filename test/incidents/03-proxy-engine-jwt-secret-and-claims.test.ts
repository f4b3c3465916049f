/**
 * Incident 03 (docs/incidents.md, "03."): a proxy and the engine behind it
 * signed and verified with different secrets (each side's own fallback default, one base64-decoded "if it looks
 * like base64, else as-is"), and the engine also required claims the proxy did not send. The only symptom was a
 * bare 401; finding the cause took comparing secrets by hand.
 *
 * Replayed here for the engine -> TTTranscribe hop (TTT_SHARED_SECRET) and the engine's user-JWT claims.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBusinessEngineClient, type BusinessEngineClient } from '../../generated/business-engine/client.js';
import type { components } from '../../generated/business-engine/schema.js';
import {
  engineAuthKeyId,
  generateSharedSecret,
  parseSharedSecret,
  SharedSecretError,
} from '../../server/protocol/engine-auth-secret.js';
import { startEngineTestApp } from '../helpers/engine-app.js';
import { TEST_USER_JWT_SECRET } from '../helpers/user-tokens.js';
import { startRealStack, type RealStack } from '../client/support/real-stack.js';
import { runPluct, tempEnvFile } from '../client/support/run-pluct.js';
import { engineProcessEnv, runServiceMain, tttProcessEnv } from '../contract/support/service-process.js';

type IntegrationReport = components['schemas']['IntegrationReport'];
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('incident 03: the engine and TTTranscribe hold different shared secrets', () => {
  let stack: RealStack;
  let client: BusinessEngineClient;
  beforeAll(async () => {
    stack = await startRealStack({ tttSecret: generateSharedSecret() });
    cleanups.push(() => stack.close());
    client = createBusinessEngineClient({ baseUrl: stack.engineUrl });
  });

  it('the app gets 502 upstream_auth_failure naming both key ids, and its credit back', async () => {
    const user = { Authorization: `Bearer ${await stack.userJwt('proxy-user-1')}` };
    const vended = await client.POST('/v1/vend-token', { body: { clientRequestId: 'incident-03' }, headers: user });
    const { error, response } = await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: { Authorization: `Bearer ${vended.data!.token}` },
    });
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_auth_failure',
      responsibility: 'operator',
      details: { upstreamStatus: 401, upstreamCode: 'engine_auth_key_mismatch', creditRefunded: true },
    });
    const message = String((error?.details as Record<string, unknown>)['upstreamMessage']);
    expect(message).toContain(stack.engineKeyId);
    expect(message).toContain(stack.tttKeyId);
    const ledger = await client.GET('/v1/credits/ledger', { headers: user });
    expect(ledger.data?.entries[0]).toMatchObject({
      kind: 'refund',
      reason: 'upstream_auth_failure',
      tokenId: vended.data!.tokenId,
    });
  });

  it('GET /health/ttt-integration answers 503 naming the key id mismatch and the encoding rule', async () => {
    const { error, response } = await client.GET('/health/ttt-integration');
    expect(response.status).toBe(503);
    const report = error as unknown as IntegrationReport;
    expect(report).toMatchObject({ ok: false, engineKeyIds: [stack.engineKeyId], tttAcceptedKeyIds: [stack.tttKeyId] });
    expect(report.checks.find((c) => c.name === 'key_id_accepted')).toMatchObject({
      ok: false,
      detail: `TTTranscribe accepts key ids [${stack.tttKeyId}], not ${stack.engineKeyId}.`,
      fix: expect.stringContaining('do not base64-encode it or decode it on one side only'),
    });
    expect(JSON.stringify(report)).not.toContain(stack.engineSecret);
    expect(JSON.stringify(report)).not.toContain(stack.tttSecret);
  });

  it('pluct doctor (a process) exits 1 naming both key ids and the side that differs', async () => {
    const env = tempEnvFile({ TTT_SHARED_SECRET: stack.engineSecret });
    cleanups.push(() => env.remove());
    const run = await runPluct(['doctor', '--engine', stack.engineUrl, '--ttt', stack.tttUrl, '--env-file', env.path]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const keyIds = run.stdout.split('\n').find((l) => /^ {2}FAIL +key_ids /.test(l)) ?? '';
    expect(keyIds).toContain(
      `The engine signs with key id ${stack.engineKeyId}, but TTTranscribe accepts ${stack.tttKeyId}`,
    );
    expect(keyIds).toContain('TTTranscribe differs');
    expect(run.stdout).not.toContain(stack.engineSecret);
  });
});

describe('incident 03: a secret given raw on one side and base64 on the other', () => {
  it('the side given another encoding refuses to start, saying what the value looks like and how to fix it', async () => {
    const key = parseSharedSecret('TTT_SHARED_SECRET', generateSharedSecret()).key;
    const standardBase64 = Buffer.from(key).toString('base64');
    const unprefixed = Buffer.from(key).toString('base64url');
    const [ttt, engine] = await Promise.all([
      runServiceMain('tttranscribe', tttProcessEnv({ TTT_SHARED_SECRET: standardBase64 })),
      runServiceMain('business-engine', await engineProcessEnv({ TTT_SHARED_SECRET: unprefixed })),
    ]);
    expect(ttt.code, ttt.stderr).toBe(1);
    expect(ttt.stderr).toContain('TTTranscribe cannot start');
    expect(ttt.stderr).toContain('(length 44, looks like standard base64)');
    expect(ttt.stderr).toContain('Re-encode the same 32 bytes as base64url without padding and prefix it with tttsk_');
    expect(engine.code, engine.stderr).toBe(1);
    expect(engine.stderr).toContain(
      '(length 43, looks like base64url without the tttsk_ prefix). Prefix the value with tttsk_.',
    );
    for (const out of [ttt.stdout, ttt.stderr, engine.stdout, engine.stderr]) {
      expect(out).not.toContain(standardBase64);
      expect(out).not.toContain(unprefixed);
    }
  });

  it('the tttsk_ format makes the silent mix-up impossible: each key has exactly one accepted spelling', () => {
    for (let i = 0; i < 25; i += 1) {
      // Bytes whose standard base64 holds '+' and '/', so it differs from base64url in every way it can.
      const key = Uint8Array.from([0xfb, 0xff, ...randomBytes(30)]);
      const canonical = `tttsk_${Buffer.from(key).toString('base64url')}`;
      expect(parseSharedSecret('TTT_SHARED_SECRET', canonical).keyId).toBe(engineAuthKeyId(key));
      const others = {
        'standard base64': Buffer.from(key).toString('base64'),
        'unpadded standard base64': Buffer.from(key).toString('base64').replace(/=+$/, ''),
        'base64url without the prefix': Buffer.from(key).toString('base64url'),
        hex: Buffer.from(key).toString('hex'),
        'prefixed standard base64': `tttsk_${Buffer.from(key).toString('base64')}`,
        'prefixed padded base64url': `${canonical}=`,
        quoted: `"${canonical}"`,
        'trailing newline': `${canonical}\n`,
        'the raw bytes as text': Buffer.from(key).toString('latin1'),
      };
      for (const [spelling, value] of Object.entries(others)) {
        expect(() => parseSharedSecret('TTT_SHARED_SECRET', value), spelling).toThrow(SharedSecretError);
      }
    }
  });
});

describe('incident 03: claims the engine requires are named when missing or mistyped', () => {
  it('a token without scope, or with exp/iat as date strings, is a 401 invalid_token_claims naming the claim', async () => {
    const be = await startEngineTestApp();
    cleanups.push(() => be.close());
    const iat = Math.floor(be.clock.ms / 1000);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode(TEST_USER_JWT_SECRET));
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ sub: 'proxy', iat, exp: iat + 900 }, 'scope', 'missing'],
      [{ sub: 'proxy', scope: 'credits:read', iat, exp: new Date((iat + 900) * 1000).toISOString() }, 'exp', 'invalid'],
      [
        { sub: 'proxy', scope: 'credits:read', iat: new Date(iat * 1000).toISOString(), exp: iat + 900 },
        'iat',
        'invalid',
      ],
    ];
    for (const [claims, claim, reason] of cases) {
      const { error, response } = await be.client.GET('/v1/credits/balance', {
        headers: be.bearer(await sign(claims)),
      });
      expect(response.status, claim).toBe(401);
      expect(error, claim).toMatchObject({
        code: 'invalid_token_claims',
        detail: expect.stringContaining(`'${claim}'`),
        details: { credential: 'user_jwt', claim, reason },
      });
    }
  });
});
