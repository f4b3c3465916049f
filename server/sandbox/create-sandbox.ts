import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import cors from 'cors';
import express, { type RequestHandler } from 'express';
import { compactVerify, decodeJwt } from 'jose';
import type { Logger } from 'pino';
import type { OpenApiDocument } from '../shared/http/operation-matcher.js';
import { answerClientErrors } from '../shared/http/client-errors.js';
import { errorHandler } from '../shared/errors/error-handler.js';
import { createLogger } from '../shared/logging/logger.js';
import { engineFaults, tttFaults, type PendingUpstreamFaults } from './fault-middleware.js';
import { createFaultDecider, faultPlanSchema, type FaultPlan } from './faults.js';
import { FAULT_HEADER, NO_CREDITS_PREFIX } from './magic-inputs.js';
import { buildChain, type SandboxChain } from './sandbox-chain.js';
import { generateChainSecrets, type ChainSecrets } from './chain-secrets.js';
import { sandboxRoutes, type SandboxState } from './sandbox-routes.js';
import type { SeenJob } from './simulated-engine.js';
import { mintSandboxUserJwt, type TokenRequest } from './user-tokens.js';

const engineSpec = JSON.parse(
  readFileSync(new URL('../../generated/business-engine/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;

/** Where TTTranscribe answers inside the sandbox (the engine's upstream); apps call the engine's paths. */
const TTT_MOUNT = '/_ttt';

/** How a sandbox runs; every field has a default (see config.ts for the flags and variables). */
export interface SandboxOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Browser origins allowed by CORS; `*` allows any. */
  readonly corsOrigins?: readonly string[];
  /** How long a job runs when its URL does not say (`/delay/<ms>`). */
  readonly jobDurationMs?: number;
  readonly jobTimeoutSec?: number;
  /** The gateway's upstream timeout (the fault `upstream=timeout` waits past it). */
  readonly upstreamTimeoutMs?: number;
  /** Credits a new user starts with (subjects starting with `nocredits-` start with none). */
  readonly startingCredits?: number;
  /** The run's faults (a parsed `--faults` file). */
  readonly faults?: Partial<FaultPlan>;
  readonly logLevel?: string;
  readonly logger?: Logger;
  /** Clock in ms (default Date.now). */
  readonly now?: () => number;
}

/** A listening sandbox. */
export interface RunningSandbox {
  /** e.g. `http://127.0.0.1:8790`: the one URL an app uses. */
  readonly url: string;
  readonly server: Server;
  /** Mints a user JWT this sandbox accepts (as `POST /sandbox/tokens` does). */
  userJwt(request?: TokenRequest): Promise<string>;
  state(): Promise<SandboxState>;
  /** Empties both databases and the run's fault sequence; keeps the secrets (tokens stay valid). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the sandbox: the real Business Engine and TTTranscribe (createApp of each) on temporary SQLite, with
 * secrets generated in memory, a simulated transcription engine, the run's faults, CORS, and the `/sandbox/*`
 * routes, all on one port: the engine's API at `/`, TTTranscribe (its upstream) under `/_ttt`.
 *
 * @example
 * const sandbox = await startSandbox({ port: 0, jobDurationMs: 200 });
 * const jwt = await sandbox.userJwt({ sub: 'alice' });
 * await fetch(`${sandbox.url}/v1/credits/balance`, { headers: { Authorization: `Bearer ${jwt}` } });
 * await sandbox.close();
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  const now = options.now ?? Date.now;
  const logger = options.logger ?? createLogger({ service: 'sandbox', level: options.logLevel ?? 'warn' });
  const secrets: ChainSecrets = await generateChainSecrets();
  const decider = createFaultDecider(faultPlanSchema.parse(options.faults ?? {}));
  const pending: PendingUpstreamFaults = new Map();
  const startingCredits = options.startingCredits ?? 3;
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 5_000;
  const users = new Set<string>();
  const jobs = new Map<string, SeenJob>();
  let chain: SandboxChain | undefined;

  const root = express();
  root.disable('x-powered-by');
  root.set('etag', false);
  const origins = options.corsOrigins ?? ['*'];
  root.use(
    cors({
      origin: origins.includes('*') ? true : [...origins],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-ID', FAULT_HEADER],
      exposedHeaders: ['X-Request-ID', 'Retry-After'],
      maxAge: 600,
    }),
  );
  const current = (): SandboxChain => {
    if (!chain) throw new Error('the sandbox is not started');
    return chain;
  };
  root.use(
    '/sandbox',
    sandboxRoutes({
      state: () => sandboxState(),
      reset: () => reset(),
      mint: async (request) => mintSandboxUserJwt(secrets.USER_JWT_SECRET, request, now()),
      logger,
    }),
  );
  root.use(TTT_MOUNT, tttFaults({ pending, upstreamTimeoutMs }), (req, res, next) => current().ttt.app(req, res, next));
  root.use(startingCreditsOnFirstSight());
  root.use((req, res, next) => current().engine.app(req, res, next));
  // The services render their own errors; this renders a failure of the sandbox's own layer, the same way.
  root.use(errorHandler({ logger }));

  /** A user seen for the first time (by a user JWT this sandbox signed) gets the starting credits. */
  function startingCreditsOnFirstSight(): RequestHandler {
    const key = new TextEncoder().encode(secrets.USER_JWT_SECRET);
    return async (req, _res, next) => {
      const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      let sub: unknown;
      try {
        if (match) {
          await compactVerify(match[1] as string, key, { algorithms: ['HS256'] });
          sub = decodeJwt(match[1] as string).sub;
        }
      } catch {
        // Not a user JWT of this sandbox: the engine answers it.
      }
      if (typeof sub === 'string' && sub !== '' && sub.length <= 128 && !users.has(sub)) {
        users.add(sub);
        if (!sub.startsWith(NO_CREDITS_PREFIX) && startingCredits > 0) {
          await current().engine.store.ledger.grant(sub, startingCredits, 'bonus', {
            reason: 'signup_bonus',
            requestId: null,
          });
        }
      }
      next();
    };
  }

  // Awaited although SQLite answers synchronously: a store that becomes async (another database) still fits.
  async function sandboxState(): Promise<SandboxState> {
    const c = current();
    return {
      users: await Promise.all(
        [...users].sort().map(async (userId) => {
          const b = await c.engine.store.ledger.ensureUser(userId, null);
          return { userId, balance: b.balance, main: b.main, bonus: b.bonus };
        }),
      ),
      jobs: await Promise.all(
        [...jobs.values()].map(async ({ jobId, url }) => {
          const job = await c.ttt.store.get(jobId);
          return {
            jobId,
            url,
            status: job?.status ?? 'unknown',
            stage: job?.stage ?? null,
            progress: job?.progress ?? 0,
            errorCode: job?.errorCode ?? null,
            transcript: job?.transcript ?? null,
          };
        }),
      ),
    };
  }

  function newChain(url: string): SandboxChain {
    return buildChain({
      secrets,
      tttBaseUrl: `${url}${TTT_MOUNT}`,
      jobDurationMs: options.jobDurationMs ?? 1_500,
      jobTimeoutSec: options.jobTimeoutSec ?? 60,
      upstreamTimeoutMs,
      logger,
      now,
      engineBefore: [engineFaults({ spec: engineSpec, decider, pending, now })],
      onJob: (job) => jobs.set(job.jobId, job),
    });
  }

  const server = createServer(root);
  answerClientErrors(server, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8790, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  try {
    chain = newChain(url);
  } catch (error) {
    server.close();
    throw error;
  }

  async function reset(): Promise<void> {
    const old = chain;
    chain = newChain(url);
    users.clear();
    jobs.clear();
    pending.clear();
    decider.reset();
    await old?.close();
  }

  let closed: Promise<void> | undefined;
  return {
    url,
    server,
    userJwt: async (request = {}) => (await mintSandboxUserJwt(secrets.USER_JWT_SECRET, request, now())).token,
    state: sandboxState,
    reset,
    close() {
      closed ??= (async () => {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await done;
        await chain?.close();
      })();
      return closed;
    },
  };
}
