import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

/** Options of {@link startBackgroundCheckpoint}. */
export interface BackgroundCheckpointOptions {
  /** The database file (the same one the service writes; not `:memory:`). */
  readonly path: string;
  /** How often to checkpoint, ms (default 1000). */
  readonly intervalMs?: number;
  readonly logger: Logger;
}

/** A running checkpointer; `stop()` ends it (and waits for the thread to exit). */
export interface BackgroundCheckpoint {
  stop(): Promise<void>;
}

/**
 * The pages a writing connection may leave in the WAL before it checkpoints by itself: a backstop (about 40 MB at
 * 4 KiB pages) for when the background thread cannot keep up or has died; normally it never triggers.
 */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;

// Plain JavaScript so the thread starts the same under tsx, vitest or compiled output.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 100');
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String(error && error.message || error) });
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'stop') {
    clearInterval(timer);
    try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
    db.close();
    parentPort.close();
  }
});
`;

/**
 * Checkpoints a WAL database from a worker thread with its own connection, every `intervalMs`. SQLite otherwise
 * checkpoints inside whichever commit crosses `wal_autocheckpoint` pages: that request then copies the WAL into
 * the database and fsyncs it on the event loop, which is most of the p99 of every writing endpoint. The writing
 * connection should set `wal_autocheckpoint` to {@link BACKSTOP_AUTOCHECKPOINT_PAGES}. Returns undefined for
 * `:memory:` (nothing to checkpoint).
 *
 * @example
 * db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
 * const checkpoint = startBackgroundCheckpoint({ path: config.dbPath, logger });
 * // on shutdown, before db.close():
 * await checkpoint?.stop();
 */
export function startBackgroundCheckpoint(options: BackgroundCheckpointOptions): BackgroundCheckpoint | undefined {
  if (options.path === ':memory:' || options.path === '') return undefined;
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 10)
    throw new Error(`checkpoint interval must be an integer of at least 10 ms, got ${intervalMs}`);
  const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { path: options.path, intervalMs, betterSqlite3 },
  });
  worker.unref();
  let lastError = '';
  worker.on('message', (message: { type: string; message: string }) => {
    // SQLITE_BUSY now and then is expected (a writer holds the lock); log each distinct failure once.
    if (message.type === 'error' && message.message !== lastError && !/busy|locked/i.test(message.message)) {
      lastError = message.message;
      options.logger.warn(
        { error: message.message },
        'background WAL checkpoint failed; the writer checkpoints by itself meanwhile',
      );
    }
  });
  worker.on('error', (error) =>
    options.logger.error(
      { err: error },
      'the WAL checkpoint thread died; the writer checkpoints by itself from now on',
    ),
  );
  let exited = false;
  worker.once('exit', () => {
    exited = true;
  });
  let stopped: Promise<void> | undefined;
  return {
    stop: () => {
      stopped ??= exited
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            // Keep the process alive until the thread has finished its last checkpoint and closed the database.
            worker.ref();
            worker.once('exit', () => resolve());
            worker.postMessage('stop');
            setTimeout(() => void worker.terminate(), 2000).unref();
          });
      return stopped;
    },
  };
}
