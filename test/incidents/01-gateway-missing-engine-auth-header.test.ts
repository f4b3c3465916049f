/**
 * Incident 01 (docs/incidents.md, "01."): the gateway forwarded jobs to
 * TTTranscribe without X-Engine-Auth (its TTT_SHARED_SECRET was not configured); TTTranscribe answered a
 * self-contradictory 401 ("missing" / "present"), the app got a 401 `upstream_client_error` it could do nothing
 * about, and the user was charged for a token that never transcribed.
 *
 * Replayed here, with what each party sees now.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { components } from '../../generated/business-engine/schema.js';
import { createSignedTttClient } from '../../server/business-engine/upstream/ttt-client.js';
import { startEngineWithFakeTtt } from '../helpers/engine-fake-ttt.js';
import { startEngineStack } from '../helpers/engine-stack.js';
import { startTttTestApp } from '../helpers/ttt-app.js';
import { startHeaderStrippingProxy } from '../contract/support/header-stripping-proxy.js';
import { engineProcessEnv, runServiceMain } from '../contract/support/service-process.js';

type IntegrationReport = components['schemas']['IntegrationReport'];
const MEDIA = { url: 'https://vm.tiktok.com/ZMADQVF4e/' };
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

describe('incident 01: the gateway sent jobs to TTTranscribe without X-Engine-Auth', () => {
  it('an engine that does not sign cannot be built: its only TTTranscribe client signs every request', async () => {
    const engineFiles = sourceFiles('server/business-engine');
    const importers = engineFiles.filter((file) =>
      readFileSync(file, 'utf8').includes('generated/tttranscribe/client'),
    );
    expect(importers, 'only the signed client factory may import the generated TTTranscribe client').toEqual([
      'server/business-engine/upstream/ttt-client.ts',
    ]);
    expect(readFileSync('server/business-engine/upstream/ttt-client.ts', 'utf8')).toMatch(
      /createTttranscribeClient\(\{[^}]*\bfetch\b[^}]*\}\)/,
    );
    expect(() => createSignedTttClient({ baseUrl: 'http://127.0.0.1:9', keys: [], timeoutMs: 1000 })).toThrow(
      /at least one X-Engine-Auth key/,
    );

    const pair = await startEngineWithFakeTtt();
    cleanups.push(() => pair.close());
    const keyId = pair.be.config.tttKeys[0]!.keyId;
    const nowSec = () => Math.floor(pair.be.clock.ms / 1000);
    pair.ttt.respond((r) => {
      if (r.target === '/transcribe')
        return {
          status: 202,
          body: {
            ok: true,
            jobId: 'job_SIGNED000001',
            status: 'queued',
            submittedAt: new Date(pair.be.clock.ms).toISOString(),
          },
        };
      if (r.target === '/.well-known/engine-auth')
        return {
          status: 200,
          body: {
            ok: true,
            version: 'v1',
            acceptedKeyIds: [keyId],
            toleranceSec: 300,
            replayWindowSec: 600,
            serverTime: nowSec(),
          },
        };
      return { status: 200, body: { ok: true, valid: true, keyId, serverTime: nowSec() } };
    });
    const submitted = await pair.be.client.POST('/ttt/transcribe', {
      body: MEDIA,
      headers: pair.be.bearer((await pair.vend('signed-user')).token),
    });
    expect(submitted.response.status).toBe(202);
    expect((await pair.be.client.GET('/health/ttt-integration')).response.status).toBe(200);
    expect(pair.ttt.requests.map((r) => `${r.method} ${r.target}`)).toEqual([
      'POST /transcribe',
      'GET /.well-known/engine-auth',
      'POST /test/validate-engine-auth',
    ]);
    for (const r of pair.ttt.requests) expect(r.engineAuth, `${r.method} ${r.target}`).toEqual({ ok: true, keyId });
  });

  it('the engine started without TTT_SHARED_SECRET refuses to start, naming the variable and the rule, never a secret', async () => {
    const env = await engineProcessEnv({ TTT_SHARED_SECRET: '' });
    const exit = await runServiceMain('business-engine', env);
    expect(exit.code, exit.stderr).toBe(1);
    expect(exit.stderr).toContain('Business Engine cannot start. Invalid configuration:');
    expect(exit.stderr).toContain(
      "TTT_SHARED_SECRET: must be 'tttsk_' followed by 43 base64url characters (32 random bytes); got nothing (unset or empty)",
    );
    expect(exit.stderr).toContain('pluct secret new');
    // The missing secret is the only problem reported: every other variable was valid.
    expect(exit.stderr.match(/^ {2}- /gm)).toHaveLength(1);
    const secrets = [
      env['USER_JWT_SECRET']!,
      env['ADMIN_TOKEN']!,
      (JSON.parse(env['SERVICE_TOKEN_PRIVATE_KEY']!) as { d: string }).d,
    ];
    for (const secret of secrets) expect(exit.stdout + exit.stderr).not.toContain(secret);
    expect(exit.stdout).not.toContain('listening');
  });

  it('a raw unsigned request to TTTranscribe gets 401 missing_engine_auth_header naming X-Engine-Auth v1, not a contradiction', async () => {
    const ttt = await startTttTestApp();
    cleanups.push(() => ttt.close());
    const token = await ttt.issuer.mint();
    const { error, response } = await ttt
      .clientWith({ keys: null })
      .POST('/transcribe', { body: MEDIA, headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'missing_engine_auth_header',
      responsibility: 'gateway',
      guidance: expect.stringContaining('X-Engine-Auth v1'),
      detail: expect.stringMatching(/X-Engine-Auth header is missing: the Business Engine must sign every request/),
      details: { header: 'X-Engine-Auth', acceptedVersions: ['v1'] },
      requestId: response.headers.get('x-request-id'),
    });
    expect(JSON.stringify(error)).not.toMatch(/present/i);
    // A header that is there but unusable is a different code, which says what was wrong with it.
    const garbled = await ttt
      .clientWith({ mutate: () => 'abc123' })
      .POST('/transcribe', { body: MEDIA, headers: { Authorization: `Bearer ${token}` } });
    expect(garbled.error).toMatchObject({
      code: 'invalid_engine_auth_header',
      details: { reason: 'malformed' },
      detail: expect.stringContaining('expected v1;t='),
    });
    expect(await ttt.service.store.counts()).toEqual({ queued: 0, processing: 0 });
  });

  it('a hop that strips X-Engine-Auth: the app gets 502 upstream_auth_failure (never a 401) with the upstream facts, and its credit back', async () => {
    const proxy = await startHeaderStrippingProxy(['X-Engine-Auth']);
    const stack = await startEngineStack({ engineEnv: { TTT_BASE_URL: proxy.url } });
    proxy.forwardTo(stack.ttt.baseUrl);
    cleanups.push(async () => {
      await stack.close();
      await proxy.close();
    });
    const { be } = stack;
    const user = be.bearer(await be.userJwt({ sub: 'mobile-dece0467ce82-c127' }));
    const vended = await be.client.POST('/v1/vend-token', {
      body: { clientRequestId: 'req_1763977780001' },
      headers: user,
    });
    expect(vended.data?.balanceAfter).toBe(2);

    const requestId = 'req_1763977782456';
    const { error, response } = await be.client.POST('/ttt/transcribe', {
      body: MEDIA,
      headers: { ...be.bearer(vended.data!.token), 'X-Request-ID': requestId },
    });
    expect(proxy.strippedCount).toBeGreaterThan(0);
    expect(response.status).toBe(502);
    expect(error).toMatchObject({
      code: 'upstream_auth_failure',
      responsibility: 'operator',
      guidance: expect.stringContaining('Your credit was refunded'),
      requestId,
      details: {
        upstream: 'tttranscribe',
        upstreamStatus: 401,
        upstreamCode: 'missing_engine_auth_header',
        upstreamMessage: expect.stringContaining('X-Engine-Auth header is missing'),
        upstreamRequestId: requestId,
        creditRefunded: true,
      },
    });

    const ledger = await be.client.GET('/v1/credits/ledger', { headers: user });
    expect(ledger.data?.entries[0]).toMatchObject({
      kind: 'refund',
      amount: 1,
      reason: 'upstream_auth_failure',
      tokenId: vended.data!.tokenId,
    });
    expect((await be.client.GET('/v1/credits/balance', { headers: user })).data?.balance).toBe(3);

    // The operator's view: the secret is configured (key id only), and the integration check names the failing hop.
    const config = await be.client.GET('/admin/config', { headers: be.bearer(be.config.adminToken) });
    expect(config.data?.secrets).toContainEqual({
      name: 'TTT_SHARED_SECRET',
      status: 'configured',
      keyId: be.config.tttKeys[0]!.keyId,
    });
    const health = await be.client.GET('/health/ttt-integration');
    expect(health.response.status).toBe(503);
    const checks = Object.fromEntries((health.error as unknown as IntegrationReport).checks.map((c) => [c.name, c]));
    expect(checks['key_id_accepted']).toMatchObject({ ok: true });
    expect(checks['signed_probe']).toMatchObject({
      ok: false,
      detail: 'TTTranscribe answered 401 missing_engine_auth_header.',
      data: { upstreamCode: 'missing_engine_auth_header' },
    });
  });
});
