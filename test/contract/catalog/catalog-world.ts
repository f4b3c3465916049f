/**
 * The real services the catalog scenarios drive, each configured the way that makes one family of codes
 * happen, all in-process on 127.0.0.1:0 with response validation ON. Each is started on first use (so a run of
 * one scenario starts only what it needs) and closed by `close()`. Built from the shared test helpers only.
 */
import { createRemoteJWKSet } from 'jose';
import { generateSharedSecret } from '../../../server/protocol/engine-auth-secret.js';
import { createDraining } from '../../../server/shared/http/draining.js';
import type { SignServiceToken } from '../../../server/business-engine/tokens/service-token-keys.js';
import pg from 'pg';
import { openPostgresEngineStore } from '../../../server/business-engine/store/postgres-engine-store.js';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp } from '../../helpers/engine-app.js';
import { createTestDatabase } from '../../helpers/postgres.js';
import { refusedBaseUrl, startEngineWithFakeTtt, type EngineWithFakeTtt } from '../../helpers/engine-fake-ttt.js';
import { startEngineStack, type EngineStack } from '../../helpers/engine-stack.js';
import { createServiceTokenIssuer } from '../../helpers/service-tokens.js';
import { startTttTestApp, type TttTestApp } from '../../helpers/ttt-app.js';
import { startTestEngine, testUserJwt, type TestEngine } from '../support/contract-stack.js';

/** How the switchable engine's service-token signer behaves for the next vend. */
export type SignerMode = 'sign' | 'throw';

/** An engine whose signer a scenario can break, with a vend limit of {@link VEND_LIMIT_PER_MIN}. */
export interface SwitchableEngine {
  readonly be: EngineTestApp;
  mode: SignerMode;
}

/**
 * An engine on PostgreSQL (a fresh database of the run's cluster) and a way to hold a vend key as another replica
 * in the middle of its vend transaction does (its transaction-scoped advisory lock).
 */
export interface PostgresEngine {
  readonly be: EngineTestApp;
  /** Holds (userId, clientRequestId) from another connection until the returned function is called. */
  holdKey(userId: string, clientRequestId: string): Promise<() => Promise<void>>;
}

/** The vend rate limit of the switchable engine (per user and minute). */
export const VEND_LIMIT_PER_MIN = 2;

/** An engine in front of a TTTranscribe whose job database is closed, and that TTTranscribe. */
export interface BrokenTttPair {
  readonly ttt: TttTestApp;
  readonly engine: TestEngine;
  /** A user JWT that engine accepts (it requires an issuer and audience). */
  userJwt(sub: string): Promise<string>;
}

export interface CatalogWorld {
  /** The engine in front of a real, correctly configured TTTranscribe (test-double processor). */
  stack(): Promise<EngineStack>;
  /** TTTranscribe alone, with typed clients that sign like the engine (or wrongly, on request). */
  ttt(): Promise<TttTestApp>;
  /** The engine whose TTT_BASE_URL refuses connections. */
  engineWithoutTtt(): Promise<EngineTestApp>;
  /** The engine in front of a real TTTranscribe that holds another TTT_SHARED_SECRET. */
  mismatchedStack(): Promise<EngineStack>;
  /** The engine in front of a TTTranscribe stand-in that never answers, with UPSTREAM_TIMEOUT_MS=300. */
  hangingUpstream(): Promise<EngineWithFakeTtt>;
  /** TTTranscribe whose job database is closed, and the engine in front of it. */
  brokenTtt(): Promise<BrokenTttPair>;
  /** TTTranscribe whose service-token key source (the engine's JWKS URL) refuses connections. */
  tttWithoutJwks(): Promise<TttTestApp>;
  switchableEngine(): Promise<SwitchableEngine>;
  postgresEngine(): Promise<PostgresEngine>;
  /** An engine of its own for integration tokens, whose clock scenarios may move forward. */
  integrationEngine(): Promise<EngineTestApp>;
  /** An engine shutting down: its drain (server/shared/http/draining.ts) has begun. */
  drainingEngine(): Promise<EngineTestApp>;
  close(): Promise<void>;
}

/**
 * Creates the world; nothing starts until a scenario asks for it.
 *
 * @example
 * const world = createCatalogWorld();
 * afterAll(() => world.close());
 * const { be } = await world.stack();
 */
export function createCatalogWorld(): CatalogWorld {
  const closers: Array<() => Promise<void>> = [];
  const once = <T>(start: () => Promise<T>, close: (value: T) => Promise<void>): (() => Promise<T>) => {
    let started: Promise<T> | undefined;
    return () => {
      started ??= start().then((value) => {
        closers.push(() => close(value));
        return value;
      });
      return started;
    };
  };

  return {
    stack: once(
      () => startEngineStack(),
      (s) => s.close(),
    ),
    ttt: once(
      () => startTttTestApp(),
      (t) => t.close(),
    ),
    engineWithoutTtt: once(
      async () => startEngineTestApp({ env: { TTT_BASE_URL: await refusedBaseUrl() } }),
      (be) => be.close(),
    ),
    mismatchedStack: once(
      () => startEngineStack({ tttSecret: generateSharedSecret() }),
      (s) => s.close(),
    ),
    hangingUpstream: once(
      async () => {
        const pair = await startEngineWithFakeTtt({ UPSTREAM_TIMEOUT_MS: '300' });
        pair.ttt.respond(() => 'hang');
        return pair;
      },
      (pair) => pair.close(),
    ),
    brokenTtt: once(
      async () => {
        const ttt = await startTttTestApp();
        ttt.db.close();
        const engine = await startTestEngine({ tttBaseUrl: ttt.baseUrl, issuer: ttt.issuer, now: () => ttt.clock.ms });
        return { ttt, engine, userJwt: (sub: string) => testUserJwt(ttt.clock.ms, { sub }) };
      },
      async ({ ttt, engine }) => {
        await engine.close();
        await ttt.close();
      },
    ),
    tttWithoutJwks: once(
      async () => {
        const issuer = await createServiceTokenIssuer();
        const unreachable = createRemoteJWKSet(new URL(`${await refusedBaseUrl()}/.well-known/jwks.json`));
        return startTttTestApp({ issuer: { ...issuer, getKey: unreachable } });
      },
      (t) => t.close(),
    ),
    switchableEngine: once(
      async () => {
        const state: { mode: SignerMode } = { mode: 'sign' };
        const decorateSigner =
          (sign: SignServiceToken): SignServiceToken =>
          (claims) => {
            if (state.mode === 'throw') throw new Error('TEST-ONLY: the signing key is unusable');
            return sign(claims);
          };
        const be = await startEngineTestApp({
          env: { RATE_LIMIT_VEND_PER_MIN: String(VEND_LIMIT_PER_MIN) },
          deps: { decorateSigner },
        });
        return {
          be,
          get mode() {
            return state.mode;
          },
          set mode(mode: SignerMode) {
            state.mode = mode;
          },
        };
      },
      (s) => s.be.close(),
    ),
    postgresEngine: once(
      async () => {
        const db = await createTestDatabase('catalog_engine');
        const store = await openPostgresEngineStore(db.url, { signupBonus: 3, now: () => ENGINE_T0_MS, poolMax: 4 });
        const be = await startEngineTestApp({ deps: { store } });
        const holdKey = async (userId: string, clientRequestId: string) => {
          const client = new pg.Client({ connectionString: db.url });
          await client.connect();
          await client.query('BEGIN');
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [userId, clientRequestId]);
          return async () => {
            await client.query('ROLLBACK');
            await client.end();
          };
        };
        return {
          be,
          holdKey,
          close: async () => {
            await be.close();
            await store.close();
            await db.drop();
          },
        };
      },
      (s) => s.close(),
    ),
    integrationEngine: once(
      () => startEngineTestApp(),
      (be) => be.close(),
    ),
    drainingEngine: once(
      async () => {
        const draining = createDraining();
        const be = await startEngineTestApp({ deps: { before: [draining.middleware] } });
        draining.begin();
        return be;
      },
      (be) => be.close(),
    ),
    async close() {
      for (const close of closers.reverse()) await close();
      closers.length = 0;
    },
  };
}
