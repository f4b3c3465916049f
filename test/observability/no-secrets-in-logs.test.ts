import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createRemoteJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBusinessEngineClient, type BusinessEngineClient } from '../../generated/business-engine/client.js';
import { createApp as createEngineApp, type BusinessEngine } from '../../server/business-engine/app.js';
import { loadEngineConfig, type EngineConfig } from '../../server/business-engine/config.js';
import { ENGINE_AUTH_HEADER } from '../../server/protocol/engine-auth.js';
import { generateSharedSecret, parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { createLogger } from '../../server/shared/logging/logger.js';
import { createApp as createTttApp, type TttService } from '../../server/tttranscribe/app.js';
import { openJobDatabase, type JobDatabase } from '../../server/tttranscribe/jobs/database.js';
import { createCleanupStack } from '../helpers/cleanup-stack.js';
import { ENGINE_T0_MS, reserveServer, TEST_ADMIN_TOKEN, testEngineEnv } from '../helpers/engine-app.js';
import { fakeTranscriber, succeedingProcessor } from '../helpers/ttt-processors.js';
import { mintUserJwt, TEST_USER_JWT_SECRET } from '../helpers/user-tokens.js';

// Issue 8: a full run of both services, success and failure paths, with every log line captured raw; no secret
// or token used anywhere in it may appear in any line, and the lines operators rely on must be there.

const ENGINE_METRICS_TOKEN = 'test-only-engine-metrics-token-for-log-scan-0';
const TTT_METRICS_TOKEN = 'test-only-ttt-metrics-token-for-log-scan-000';

/** Every raw line a service wrote. */
function capture(service: string): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l.trim() !== ''),
      );
      callback();
    },
  });
  return { logger: createLogger({ service, level: 'debug', destination }), lines };
}

interface Chain {
  readonly engine: BusinessEngine;
  readonly config: EngineConfig;
  readonly ttt: TttService;
  readonly client: BusinessEngineClient;
  readonly tttBaseUrl: string;
  close(): Promise<void>;
}

/** Engine and TTTranscribe in-process (each its createApp, its own captured logger), wired over HTTP only. */
async function startChain(options: {
  engineSecret: string;
  tttSecret: string;
  engineLines: ReturnType<typeof capture>;
  tttLines: ReturnType<typeof capture>;
  engineAuthHeaders: string[];
  clock: { ms: number };
}): Promise<Chain> {
  const now = () => options.clock.ms;
  const reserved = await reserveServer();
  const db: JobDatabase = openJobDatabase(':memory:');
  const ttt = createTttApp(
    {
      engineAuthKeys: [parseSharedSecret('TTT_SHARED_SECRET', options.tttSecret)],
      allowedMediaHosts: [],
      workerConcurrency: 1,
      jobTimeoutSec: 300,
      validateResponses: true,
      metricsToken: TTT_METRICS_TOKEN,
    },
    {
      db,
      processor: succeedingProcessor(),
      serviceTokenKeys: createRemoteJWKSet(new URL(`${reserved.baseUrl}/.well-known/jwks.json`)),
      logger: options.tttLines.logger,
      now,
      transcriber: fakeTranscriber,
      before: [
        (req, _res, next) => {
          const header = req.get(ENGINE_AUTH_HEADER);
          if (header) options.engineAuthHeaders.push(header);
          next();
        },
      ],
    },
  );
  const tttServer = await new Promise<Server>((resolve) => {
    const s = ttt.app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const tttBaseUrl = `http://127.0.0.1:${(tttServer.address() as AddressInfo).port}`;
  const config = loadEngineConfig(
    await testEngineEnv({ TTT_SHARED_SECRET: options.engineSecret, TTT_BASE_URL: tttBaseUrl, ENGINE_METRICS_TOKEN }),
  );
  const engine = createEngineApp(config, {
    logger: options.engineLines.logger,
    now,
    validateResponses: true,
    upstreamPolicy: { retryBaseDelayMs: 5 },
  });
  reserved.server.on('request', engine.app);
  return {
    engine,
    config,
    ttt,
    client: createBusinessEngineClient({ baseUrl: reserved.baseUrl }),
    tttBaseUrl,
    close: async () => {
      reserved.server.closeAllConnections();
      tttServer.closeAllConnections();
      await new Promise<void>((resolve) => reserved.server.close(() => resolve()));
      await new Promise<void>((resolve) => tttServer.close(() => resolve()));
      await engine.close();
      db.close();
    },
  };
}

describe('no secret or token in any log line of a full run', () => {
  const clock = { ms: ENGINE_T0_MS };
  const engineLines = capture('business-engine');
  const tttLines = capture('tttranscribe');
  const engineAuthHeaders: string[] = [];
  /** Every secret and token the run used, by name (for a readable failure). */
  const used = new Map<string, string>();
  const requestIds: string[] = [];
  let good: Chain;
  let mismatched: Chain;
  const cleanup = createCleanupStack();
  const tttSecret = generateSharedSecret();
  const foreignSecret = generateSharedSecret();

  const remember = (name: string, value: string | undefined) => {
    if (value) used.set(name, value);
  };
  const rid = (name: string) => {
    const id = `req_logscan_${name}_${requestIds.length.toString().padStart(3, '0')}`;
    requestIds.push(id);
    return id;
  };
  const auth = (token: string, name: string, userAgent = 'log-scan-test/1.0') => ({
    Authorization: `Bearer ${token}`,
    'X-Request-ID': rid(name),
    'User-Agent': userAgent,
  });

  beforeAll(async () => {
    good = await startChain({ engineSecret: tttSecret, tttSecret, engineLines, tttLines, engineAuthHeaders, clock });
    cleanup.defer(() => good.close());
    mismatched = await startChain({
      engineSecret: foreignSecret,
      tttSecret,
      engineLines,
      tttLines,
      engineAuthHeaders,
      clock,
    });
    cleanup.defer(() => mismatched.close());
    remember('TTT_SHARED_SECRET', tttSecret);
    remember('TTT_SHARED_SECRET (other deployment)', foreignSecret);
    remember('TTT_SHARED_SECRET key bytes', tttSecret.slice('tttsk_'.length));
    remember('USER_JWT_SECRET', TEST_USER_JWT_SECRET);
    remember('ADMIN_TOKEN', TEST_ADMIN_TOKEN);
    remember('ENGINE_METRICS_TOKEN', ENGINE_METRICS_TOKEN);
    remember('TTT_METRICS_TOKEN', TTT_METRICS_TOKEN);
    remember('SERVICE_TOKEN_PRIVATE_KEY d', good.config.serviceTokenKey.privateJwk['d']);
    remember('SERVICE_TOKEN_PRIVATE_KEY d (other)', mismatched.config.serviceTokenKey.privateJwk['d']);

    const { client } = good;
    const jwt = await mintUserJwt({ sub: 'log-scan-user', nowMs: clock.ms });
    remember('user JWT', jwt);
    // Success path: balance, an integration token, vend with it, submit, poll, metrics.
    await client.GET('/v1/credits/balance', { headers: auth(jwt, 'balance') });
    const created = await client.POST('/v1/integrations/tokens', {
      body: { description: 'log scan backend', scopes: ['ttt:transcribe', 'credits:read'] },
      headers: auth(jwt, 'create_token'),
    });
    const integration = created.data!.token;
    remember('integration token', integration);
    await client.GET('/v1/integrations/tokens', { headers: auth(jwt, 'list_tokens') });
    const vended = await client.POST('/v1/vend-token', {
      body: { clientRequestId: 'log-scan-1' },
      headers: auth(integration, 'vend'),
    });
    const serviceToken = vended.data!.token;
    remember('service token', serviceToken);
    const submitted = await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: auth(serviceToken, 'submit'),
    });
    const jobId = submitted.data!.jobId;
    await good.ttt.worker.drain();
    await client.GET('/ttt/status/{jobId}', {
      params: { path: { jobId } },
      headers: auth(serviceToken, 'status_service'),
    });
    await client.GET('/ttt/status/{jobId}', {
      params: { path: { jobId } },
      headers: auth(integration, 'status_integration'),
    });
    await client.GET('/metrics', { parseAs: 'text', headers: auth(ENGINE_METRICS_TOKEN, 'engine_metrics') });
    await client.GET('/metrics', { parseAs: 'text', headers: auth(TEST_ADMIN_TOKEN, 'engine_metrics_admin') });
    await client.GET('/admin/config', { headers: auth(TEST_ADMIN_TOKEN, 'admin_config') });
    await fetch(`${good.tttBaseUrl}/metrics`, { headers: auth(TTT_METRICS_TOKEN, 'ttt_metrics') });
    await good.engine.sweeper.runOnce();

    // Failure paths.
    const expired = await mintUserJwt({ sub: 'log-scan-user', nowMs: clock.ms - 3_600_000 });
    remember('expired user JWT', expired);
    await client.GET('/v1/credits/balance', { headers: auth(expired, 'expired_jwt', 'PluctMobile/1.0') });
    const forged = await mintUserJwt({
      sub: 'log-scan-user',
      nowMs: clock.ms,
      secret: 'a-different-secret-of-more-than-32-bytes!',
    });
    remember('user JWT signed with another secret', forged);
    await client.GET('/v1/credits/balance', { headers: auth(forged, 'forged_jwt') });
    const broken = `${integration.slice(0, 30)}${integration[30] === 'a' ? 'b' : 'a'}${integration.slice(31)}`;
    remember('corrupted integration token', broken);
    await client.GET('/v1/credits/balance', { headers: auth(broken, 'malformed_integration') });
    await client.GET('/v1/credits/balance', { headers: auth(tttSecret, 'secret_as_bearer') });
    await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: auth(integration, 'integration_as_service'),
    });
    await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: auth(serviceToken, 'service_token_reused'),
    });
    const at = serviceToken.length - 10; // mid-signature: the token no longer verifies, its claims still decode
    const forgedService = `${serviceToken.slice(0, at)}${serviceToken[at] === 'A' ? 'B' : 'A'}${serviceToken.slice(at + 1)}`;
    remember('service token with a broken signature', forgedService);
    await client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: auth(forgedService, 'forged_service'),
    });
    await client.GET('/v1/credits/balance', { headers: auth(serviceToken, 'service_as_user') });
    await client.GET('/admin/config', { headers: auth(`${TEST_ADMIN_TOKEN}x`, 'wrong_admin') });
    await client.GET('/metrics', { parseAs: 'text', headers: auth(jwt, 'metrics_with_jwt') });
    await fetch(`${good.tttBaseUrl}/metrics`, { headers: auth(tttSecret, 'ttt_metrics_secret') });
    await fetch(`${good.tttBaseUrl}/status/${jobId}`, {
      headers: { [ENGINE_AUTH_HEADER]: tttSecret, 'X-Request-ID': rid('secret_as_engine_auth') },
    });
    await client.DELETE('/v1/integrations/tokens/{tokenId}', {
      params: { path: { tokenId: created.data!.id } },
      headers: auth(jwt, 'revoke'),
    });
    await client.GET('/v1/credits/balance', { headers: auth(integration, 'revoked_integration') });

    // The upstream rejects the engine's credentials (the other deployment's secret).
    const mjwt = await mintUserJwt({ sub: 'log-scan-mismatch', nowMs: clock.ms });
    remember('user JWT (mismatch)', mjwt);
    const mvended = await mismatched.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'log-scan-2' },
      headers: auth(mjwt, 'mismatch_vend'),
    });
    remember('service token (mismatch)', mvended.data!.token);
    await mismatched.client.POST('/ttt/transcribe', {
      body: { url: 'https://media.example.com/clip.mp4' },
      headers: auth(mvended.data!.token, 'mismatch_submit'),
    });
    await mismatched.client.GET('/health/ttt-integration', { headers: { 'X-Request-ID': rid('mismatch_health') } });

    engineAuthHeaders.forEach((header, i) => {
      remember(`X-Engine-Auth #${i}`, header);
      for (const sig of header.slice(header.indexOf('sig=') + 4).split(','))
        remember(`X-Engine-Auth #${i} signature`, sig.split(':')[1]);
    });
    for (const [name, value] of [...used]) {
      if (/^eyJ/.test(value)) remember(`${name} (signature part)`, value.split('.')[2]);
    }
    await new Promise<void>((resolve) => engineLines.logger.flush(() => resolve()));
    await new Promise<void>((resolve) => tttLines.logger.flush(() => resolve()));
  });

  afterAll(() => cleanup.run());

  const all = () => [
    ...engineLines.lines.map((l) => ['business-engine', l] as const),
    ...tttLines.lines.map((l) => ['tttranscribe', l] as const),
  ];
  const parsed = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  it('used every kind of secret and token it claims to, and signed requests to TTTranscribe', () => {
    expect(engineAuthHeaders.length).toBeGreaterThanOrEqual(5);
    expect([...used.keys()]).toEqual(
      expect.arrayContaining(['integration token', 'service token', 'user JWT', 'X-Engine-Auth #0']),
    );
    expect(engineLines.lines.length).toBeGreaterThan(40);
    expect(tttLines.lines.length).toBeGreaterThan(10);
  });

  it('finds none of them in any log line of either service', () => {
    const leaks: string[] = [];
    for (const [service, line] of all()) {
      for (const [name, value] of used) {
        if (value.length >= 16 && line.includes(value)) leaks.push(`${service} logged ${name}: ${line.slice(0, 200)}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('writes one access line per request with request id, route, status, duration and subject', () => {
    const access = parsed(engineLines.lines).filter((l) => l['msg'] === 'request');
    for (const id of requestIds.filter((r) => !r.includes('ttt_metrics') && !r.includes('secret_as_engine_auth'))) {
      const lines = access.filter((l) => l['requestId'] === id);
      expect(lines, id).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        route: expect.any(String),
        status: expect.any(Number),
        durationMs: expect.any(Number),
      });
    }
    expect(access.find((l) => String(l['requestId']).includes('_balance_'))).toMatchObject({
      route: 'getCreditBalance',
      status: 200,
      subject: 'user:log-scan-user',
      credential: 'user_jwt',
    });
    expect(access.find((l) => String(l['requestId']).includes('_vend_'))).toMatchObject({
      subject: 'user:log-scan-user',
      credential: 'integration_token',
      credentialId: expect.stringMatching(/^itk_/),
    });
  });

  it('carries the request id from the app through the engine to TTTranscribe', () => {
    const submit = requestIds.find((r) => r.includes('_submit_'))!;
    const status = requestIds.find((r) => r.includes('_status_service_'))!;
    const tttAccess = parsed(tttLines.lines).filter((l) => l['msg'] === 'request');
    expect(tttAccess.find((l) => l['requestId'] === submit)).toMatchObject({
      route: 'createTranscriptionJob',
      status: 202,
      subject: 'log-scan-user',
    });
    expect(tttAccess.find((l) => l['requestId'] === status)).toMatchObject({ route: 'getJobStatus', status: 200 });
    const mismatch = requestIds.find((r) => r.includes('_mismatch_submit_'))!;
    expect(parsed(tttLines.lines).find((l) => l['requestId'] === mismatch && l['level'] === 40)).toMatchObject({
      code: 'engine_auth_key_mismatch',
      status: 401,
    });
    expect(parsed(engineLines.lines).find((l) => l['requestId'] === mismatch && l['level'] === 50)).toMatchObject({
      code: 'upstream_auth_failure',
      details: { upstreamRequestId: mismatch, upstreamCode: 'engine_auth_key_mismatch' },
    });
  });

  it("logs every 401/403 at warn with its code, route, client and the credential's age and expiry", () => {
    const warns = parsed(engineLines.lines).filter((l) => l['level'] === 40 && typeof l['code'] === 'string');
    const byId = (name: string) => warns.find((l) => String(l['requestId']).includes(`_${name}_`));
    expect(byId('expired_jwt')).toMatchObject({
      code: 'token_expired',
      status: 401,
      route: 'getCreditBalance',
      userAgent: 'PluctMobile/1.0',
      credential: { kind: 'user_jwt', claimedSubject: 'log-scan-user', ageSec: 3600, expiresInSec: -2700 },
    });
    expect(byId('forged_jwt')).toMatchObject({
      code: 'invalid_token',
      credential: { kind: 'user_jwt', ageSec: 0, expiresInSec: 900 },
    });
    expect(byId('malformed_integration')).toMatchObject({
      code: 'integration_token_malformed',
      details: { reason: 'checksum_mismatch' },
    });
    expect(byId('revoked_integration')).toMatchObject({
      code: 'integration_token_revoked',
      credential: { kind: 'integration_token', id: expect.stringMatching(/^itk_/) },
    });
    expect(byId('secret_as_bearer')).toMatchObject({
      code: 'credential_type_mismatch',
      credential: { kind: 'shared_secret' },
    });
    expect(byId('integration_as_service')).toMatchObject({
      code: 'credential_type_mismatch',
      details: { expected: 'service_token' },
    });
    expect(byId('service_as_user')).toMatchObject({
      code: 'credential_type_mismatch',
      credential: { kind: 'service_token', id: expect.stringMatching(/^tok_/) },
    });
    // A refused service token is described from its unverified claims; one refused after it verified, from those.
    expect(byId('forged_service')).toMatchObject({
      code: 'invalid_token',
      details: { reason: 'signature_invalid' },
      credential: {
        kind: 'service_token',
        id: expect.stringMatching(/^tok_/),
        claimedSubject: 'log-scan-user',
        expiresInSec: expect.any(Number),
      },
    });
    const reused = parsed(engineLines.lines).find(
      (l) => String(l['requestId']).includes('_service_token_reused_') && typeof l['code'] === 'string',
    );
    expect(reused).toMatchObject({
      code: 'service_token_already_used',
      credential: {
        kind: 'service_token',
        id: expect.stringMatching(/^tok_/),
        claimedSubject: 'log-scan-user',
        ageSec: expect.any(Number),
      },
    });
    expect(byId('wrong_admin')).toMatchObject({ code: 'invalid_token', route: 'getAdminConfig' });
    expect(byId('metrics_with_jwt')).toMatchObject({ code: 'credential_type_mismatch', route: 'getMetrics' });
    const leakWarning = parsed(engineLines.lines).find((l) => String(l['msg']).includes('treat it as leaked'));
    expect(leakWarning).toMatchObject({ level: 40, keyId: parseSharedSecret('T', tttSecret).keyId, ours: true });
    const tttWarns = parsed(tttLines.lines).filter((l) => l['level'] === 40 && typeof l['code'] === 'string');
    expect(tttWarns.find((l) => String(l['requestId']).includes('_secret_as_engine_auth_'))).toMatchObject({
      code: 'invalid_engine_auth_header',
      route: 'getJobStatus',
      details: { reason: 'malformed' },
    });
    expect(tttWarns.find((l) => String(l['requestId']).includes('_ttt_metrics_secret_'))).toMatchObject({
      code: 'credential_type_mismatch',
      route: 'getMetrics',
    });
  });
});
