import type { Logger } from 'pino';
import { exitOnConfigError } from './config/env.js';
import { loadEnvFile } from './config/load-env-file.js';

/** A started service as main.ts sees it: its logger and a graceful close. */
export interface RunningService {
  readonly logger: Logger;
  /**
   * Drains, then stops: begins the service's Draining (server/shared/http/draining.ts: requests still arriving on
   * open keep-alive connections get 503 `service_unavailable` with Retry-After and `Connection: close`), stops
   * accepting connections, lets in-flight requests finish within `graceMs`, then releases its resources.
   */
  close(options: { graceMs: number }): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 10_000;

/**
 * The body of every service's main.ts: loads `.env` (environment first), validates the configuration once (a bad
 * one exits 1 naming each variable), starts the service, and shuts it down cleanly on SIGINT/SIGTERM: no new work
 * is accepted (new requests on open connections get a retryable 503), in-flight requests finish, then the process
 * exits 0. A second signal, or a shutdown still running 5 s past the grace period, exits 1.
 *
 * @example
 * await runService({ name: 'TTTranscribe', loadConfig, start: startTttranscribe });
 */
export async function runService<C>(service: {
  name: string;
  loadConfig: (env: NodeJS.ProcessEnv) => C;
  start: (config: C) => Promise<RunningService>;
}): Promise<void> {
  loadEnvFile();
  let config: C;
  try {
    config = service.loadConfig(process.env);
  } catch (error) {
    exitOnConfigError(service.name, error);
  }
  // Signals are taken before the service starts: one that arrives while it is starting (its "listening" line may
  // already be out) stops it as soon as it is up, instead of killing the process mid-start.
  const state: { running?: RunningService; pending?: NodeJS.Signals } = {};
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    const { running } = state;
    if (running === undefined) {
      state.pending ??= signal;
      return;
    }
    if (stopping) {
      running.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    running.logger.info({ signal }, 'signal received');
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS + 5_000).unref();
    running.close({ graceMs: SHUTDOWN_GRACE_MS }).then(
      () => process.exit(0),
      (error: unknown) => {
        running.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  state.running = await service.start(config).catch((error: unknown) => exitOnConfigError(service.name, error));
  if (state.pending !== undefined) shutdown(state.pending);
}
