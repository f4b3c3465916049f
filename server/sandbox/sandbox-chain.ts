import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RequestHandler } from 'express';
import { createLocalJWKSet } from 'jose';
import type { Logger } from 'pino';
import { createApp as createEngine, type BusinessEngine } from '../business-engine/app.js';
import { loadEngineConfig } from '../business-engine/config.js';
import { ServiceTokenKeys } from '../business-engine/tokens/service-token-keys.js';
import { createApp as createTtt, type TttService } from '../tttranscribe/app.js';
import { loadConfig as loadTttConfig } from '../tttranscribe/config.js';
import { openJobDatabase, type JobDatabase } from '../tttranscribe/jobs/database.js';
import type { ChainSecrets } from './chain-secrets.js';
import { SANDBOX_MEDIA_HOST } from './magic-inputs.js';
import { createSimulatedProcessor, simulatedProbe, type SeenJob } from './simulated-engine.js';

const SWEEP_INTERVAL_MS = 60_000;

export interface ChainOptions {
  readonly secrets: ChainSecrets;
  /** Where the engine reaches TTTranscribe (the sandbox's own port, under /_ttt). */
  readonly tttBaseUrl: string;
  readonly jobDurationMs: number;
  readonly jobTimeoutSec: number;
  readonly upstreamTimeoutMs: number;
  readonly logger: Logger;
  readonly now: () => number;
  /** The engine's first middleware (the sandbox's faults). */
  readonly engineBefore: RequestHandler[];
  readonly onJob: (job: SeenJob) => void;
}

/** One life of the sandbox's two services, on their own temporary SQLite files. */
export interface SandboxChain {
  readonly engine: BusinessEngine;
  readonly ttt: TttService;
  close(): Promise<void>;
}

/**
 * Builds the real Business Engine and the real TTTranscribe (their createApp) on temporary SQLite files, configured
 * through their own config loaders from the run's secrets, with the simulated engine in place of the media pipeline.
 * The engine's signup bonus is 0: the sandbox grants starting credits itself (see create-sandbox.ts).
 *
 * @example
 * const chain = buildChain({ secrets, tttBaseUrl: `${url}/_ttt`, jobDurationMs: 1500, ... });
 */
export function buildChain(options: ChainOptions): SandboxChain {
  const dir = mkdtempSync(join(tmpdir(), 'pluct-sandbox-'));
  const engineConfig = loadEngineConfig({
    ...options.secrets,
    ENGINE_DB: join(dir, 'business-engine.db'),
    TTT_BASE_URL: options.tttBaseUrl,
    SIGNUP_BONUS_CREDITS: '0',
    UPSTREAM_TIMEOUT_MS: String(options.upstreamTimeoutMs),
    // Far above what an app tries; the fault `rate_limited` makes a 429 on demand.
    RATE_LIMIT_VEND_PER_MIN: '600',
    RATE_LIMIT_TRANSCRIBE_PER_MIN: '600',
    DOCS_DIR: join(dir, 'no-docs'),
  });
  const tttConfig = loadTttConfig({
    TTT_SHARED_SECRET: options.secrets.TTT_SHARED_SECRET,
    TTT_DB: join(dir, 'tttranscribe.db'),
    TTT_ALLOWED_MEDIA_HOSTS: SANDBOX_MEDIA_HOST,
    TTT_WORKER_CONCURRENCY: '16',
    TTT_JOB_TIMEOUT_SEC: String(options.jobTimeoutSec),
  });
  const engine = createEngine(engineConfig, {
    logger: options.logger.child({ service: 'business-engine' }),
    now: options.now,
    before: options.engineBefore,
    // Deterministic: a fault on one request must not open the circuit for the next ones.
    upstreamPolicy: { volumeThreshold: Number.MAX_SAFE_INTEGER, getRetries: 0 },
  });
  let db: JobDatabase | undefined;
  try {
    db = openJobDatabase(tttConfig.dbPath);
    const ttt = createTtt(tttConfig, {
      db,
      processor: createSimulatedProcessor({ jobDurationMs: options.jobDurationMs, onJob: options.onJob }),
      serviceTokenKeys: createLocalJWKSet(new ServiceTokenKeys(engineConfig.serviceTokenKey).jwks()),
      logger: options.logger.child({ service: 'tttranscribe' }),
      now: options.now,
      transcriber: simulatedProbe,
    });
    ttt.worker.start();
    // As in production: unused tokens past their expiry are refunded, submitted jobs reconciled.
    engine.sweeper.start(SWEEP_INTERVAL_MS);
    const jobs = db;
    let closed: Promise<void> | undefined;
    return {
      engine,
      ttt,
      close() {
        closed ??= (async () => {
          await ttt.worker.stop({ graceMs: 0 });
          await engine.close();
          jobs.close();
          rmSync(dir, { recursive: true, force: true });
        })();
        return closed;
      },
    };
  } catch (error) {
    db?.close();
    void engine.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
