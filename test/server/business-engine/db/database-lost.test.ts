import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openPostgresEngineStore,
  type PostgresEngineStore,
} from '../../../../server/business-engine/store/postgres-engine-store.js';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp } from '../../../helpers/engine-app.js';
import { createTestDatabase } from '../../../helpers/postgres.js';
import { startCutProxy, type CutProxy } from '../../../helpers/tcp-cut-proxy.js';

/*
 * Issue 19, faults: the engine's PostgreSQL database goes away mid-run (every connection dropped, new ones
 * refused) and comes back. Meanwhile every request that needs it gets 503 service_unavailable (retryable,
 * Retry-After) and nothing is written; afterwards the engine works again without a restart.
 */
describe('the engine when its PostgreSQL database is lost and comes back', () => {
  let proxy: CutProxy;
  let store: PostgresEngineStore;
  let be: EngineTestApp;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await createTestDatabase('engine_lost');
    drop = db.drop;
    const url = new URL(db.url);
    proxy = await startCutProxy(Number(url.port));
    url.port = String(proxy.port);
    store = await openPostgresEngineStore(url.toString(), {
      signupBonus: 3,
      now: () => ENGINE_T0_MS,
      poolMax: 4,
      connectionTimeoutMs: 1000,
    });
    be = await startEngineTestApp({ deps: { store } });
  });
  afterAll(async () => {
    await be.close();
    await proxy.restore();
    await store.close();
    await proxy.close();
    await drop();
  });

  const vend = async (clientRequestId: string) =>
    be.client.POST('/v1/vend-token', {
      body: { clientRequestId },
      headers: be.bearer(await be.userJwt({ sub: 'lost-user' })),
    });
  const balance = async () =>
    be.client.GET('/v1/credits/balance', { headers: be.bearer(await be.userJwt({ sub: 'lost-user' })) });

  it('answers 503 service_unavailable with Retry-After while it is gone, writes nothing, and recovers when it returns', async () => {
    expect((await vend('before')).data?.balanceAfter).toBe(2);

    await proxy.cut();
    for (const attempt of [await vend('during'), await balance()]) {
      expect(attempt.response.status).toBe(503);
      expect(attempt.error).toMatchObject({
        code: 'service_unavailable',
        retryable: true,
        details: { retryAfterSec: 5, reason: 'database_unavailable' },
      });
      expect(attempt.response.headers.get('retry-after')).toBe('5');
      expect(JSON.stringify(attempt.error)).not.toMatch(/ECONN|127\.0\.0\.1|postgres/i);
    }

    await proxy.restore();
    expect((await balance()).data?.balance).toBe(2);
    // The vend refused during the outage took nothing, not even its key: it vends now as new.
    const retried = await vend('during');
    expect(retried.response.status).toBe(200);
    expect(retried.response.headers.get('idempotent-replayed')).toBeNull();
    expect(retried.data?.balanceAfter).toBe(1);
    const charges = (await store.ledger.page('lost-user', 50)).filter((e) => e.kind === 'charge');
    expect(charges).toHaveLength(2);
  });
});
