import type { Server } from 'node:http';
import type { RequestHandler } from 'express';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTttranscribeClient } from '../../../../generated/tttranscribe/client.js';
import { isApiError } from '../../../../server/shared/errors/api-error.js';
import { createDraining, DRAIN_RETRY_AFTER_SEC } from '../../../../server/shared/http/draining.js';
import { createApp } from '../../../../server/tttranscribe/app.js';
import { openJobDatabase } from '../../../../server/tttranscribe/jobs/database.js';
import type { TranscriberProbe } from '../../../../server/tttranscribe/transcriber-status.js';
import { expectCatalogProblem } from '../../../contract/catalog/catalog-problem.js';
import { observe } from '../../../contract/catalog/observe.js';
import { startEngineTestApp } from '../../../helpers/engine-app.js';
import { createServiceTokenIssuer } from '../../../helpers/service-tokens.js';
import { memoryLogger, T0_MS, TEST_KEY } from '../../../helpers/ttt-app.js';
import { fakeTranscriber, succeedingProcessor } from '../../../helpers/ttt-processors.js';

/** Resolves once something is held; `release()` lets it go on. */
function gate(): { held: Promise<void>; hold: () => Promise<void>; release: () => void } {
  let heldNow!: () => void;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (heldNow = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return { held, hold: () => (heldNow(), released), release };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const shuttingDown = {
  details: { retryAfterSec: DRAIN_RETRY_AFTER_SEC, reason: 'shutting_down' },
  headers: ['Retry-After'],
};

describe('createDraining', () => {
  it('passes every request on until begin(), then refuses each with service_unavailable, Retry-After and Connection: close', () => {
    const draining = createDraining({ retryAfterSec: 7 });
    const seen: unknown[] = [];
    const run = () => draining.middleware({} as never, {} as never, (error?: unknown) => seen.push(error));
    run();
    expect(draining.active).toBe(false);
    draining.begin();
    draining.begin();
    run();
    expect(draining.active).toBe(true);
    expect(seen[0]).toBeUndefined();
    expect(isApiError(seen[1])).toBe(true);
    expect(seen[1]).toMatchObject({
      code: 'service_unavailable',
      status: 503,
      details: { retryAfterSec: 7, reason: 'shutting_down' },
      headers: { 'Retry-After': '7', Connection: 'close' },
    });
  });
});

describe('a draining Business Engine', () => {
  it('answers new requests 503 service_unavailable while the in-flight vend completes', async () => {
    const draining = createDraining();
    const signer = gate();
    // Holds the first vend inside the engine (past the drain check), as a slow database would.
    let first = true;
    const holdFirstVend: RequestHandler = (req, _res, next) => {
      if (req.path !== '/v1/vend-token' || !first) {
        next();
        return;
      }
      first = false;
      void signer.hold().then(() => next());
    };
    const be = await startEngineTestApp({ deps: { before: [draining.middleware, holdFirstVend] } });
    cleanups.push(() => be.close());
    const headers = be.bearer(await be.userJwt({ sub: 'drain-user' }));

    const inFlight = be.client.POST('/v1/vend-token', { body: { clientRequestId: 'drain-in-flight' }, headers });
    await signer.held;
    draining.begin();

    const health = await observe('business-engine', 'GET', be.client.GET('/health'));
    expectCatalogProblem(health, 'service_unavailable', shuttingDown);
    expect(health.headers.get('retry-after')).toBe(String(DRAIN_RETRY_AFTER_SEC));
    expect(health.headers.get('connection')).toBe('close');
    const vend = await observe(
      'business-engine',
      'POST',
      be.client.POST('/v1/vend-token', { body: { clientRequestId: 'drain-new' }, headers }),
    );
    expectCatalogProblem(vend, 'service_unavailable', shuttingDown);

    signer.release();
    const { data, error, response } = await inFlight;
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ ok: true, token: expect.any(String) });
    // Only the in-flight vend was charged: the refused one did no work.
    expect((await be.engine.store.ledger.ensureUser('drain-user', null)).balance).toBe(2);
  });
});

describe('a draining TTTranscribe', () => {
  it('answers new requests 503 service_unavailable while the in-flight health check completes', async () => {
    const draining = createDraining();
    const probe = gate();
    const transcriber: TranscriberProbe = async () => {
      await probe.hold();
      return fakeTranscriber();
    };
    const db = openJobDatabase(':memory:');
    const issuer = await createServiceTokenIssuer({ now: () => T0_MS });
    const { app } = createApp(
      {
        engineAuthKeys: [TEST_KEY],
        allowedMediaHosts: [],
        workerConcurrency: 1,
        jobTimeoutSec: 60,
        validateResponses: true,
      },
      {
        db,
        processor: succeedingProcessor(),
        serviceTokenKeys: issuer.getKey,
        logger: memoryLogger().logger,
        now: () => T0_MS,
        transcriber,
        before: [draining.middleware],
      },
    );
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      db.close();
    });
    const client = createTttranscribeClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });

    const inFlight = client.GET('/health');
    await probe.held;
    draining.begin();

    const info = await observe('tttranscribe', 'GET', client.GET('/.well-known/engine-auth'));
    expectCatalogProblem(info, 'service_unavailable', shuttingDown);
    expect(info.headers.get('connection')).toBe('close');
    const probeCall = await observe(
      'tttranscribe',
      'POST',
      client.POST('/test/validate-engine-auth', { body: { probe: true } }),
    );
    expectCatalogProblem(probeCall, 'service_unavailable', shuttingDown);

    probe.release();
    const { data, response } = await inFlight;
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ ok: true, transcriber: { available: true } });
  });
});
