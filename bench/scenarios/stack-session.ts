import { join } from 'node:path';
import type { BenchContext } from '../harness/bench-context.js';
import { createBenchCredentials, type BenchCredentials } from '../harness/bench-credentials.js';
import {
  createWorkspace,
  ENGINE_MAIN,
  serviceExists,
  startEngineProcess,
  startTttProcess,
  TTT_MAIN,
  type BenchWorkspace,
} from '../harness/bench-stack.js';
import { EngineUsers } from '../harness/engine-users.js';
import type { ServerProcess } from '../harness/server-process.js';

/**
 * The real stack shared by the services, fixed-rate and connections groups: one TTTranscribe and one Business
 * Engine in front of it, each its own process, started once on first use with fresh secrets and scratch SQLite
 * files, and stopped (cleanly, so CPU profiles are written) by `close`.
 *
 * @example
 * const stack = await StackSession.create(ctx);
 * try { const ttt = await stack.ttt(); … } finally { await stack.close(); }
 */
export class StackSession {
  private tttProcess: ServerProcess | undefined;
  private engineProcess: ServerProcess | undefined;
  private engineUsers: EngineUsers | undefined;
  private readonly extra: ServerProcess[] = [];

  private constructor(
    private readonly ctx: BenchContext,
    readonly creds: BenchCredentials,
    readonly ws: BenchWorkspace,
    /** Where `--profile` writes .cpuprofile files (undefined: not profiling). */
    readonly profileDir: string | undefined,
  ) {}

  static async create(ctx: BenchContext, profileDir: string | undefined): Promise<StackSession> {
    const creds = await createBenchCredentials();
    return new StackSession(ctx, creds, createWorkspace(creds), profileDir);
  }

  get hasTtt(): boolean {
    return serviceExists(TTT_MAIN);
  }

  get hasEngine(): boolean {
    return serviceExists(ENGINE_MAIN) && serviceExists(TTT_MAIN);
  }

  async ttt(): Promise<ServerProcess> {
    this.tttProcess ??= await startTttProcess(this.creds, this.ws, {
      dbPath: join(this.ws.dir, 'tttranscribe.db'),
      logLevel: this.ctx.settings.logLevel,
      ...(this.profileDir ? { cpuProfileDir: this.profileDir } : {}),
    });
    return this.tttProcess;
  }

  async engine(): Promise<ServerProcess> {
    if (!this.engineProcess) {
      const ttt = await this.ttt();
      this.engineProcess = await startEngineProcess(this.creds, {
        dbPath: join(this.ws.dir, 'business-engine.db'),
        logLevel: this.ctx.settings.logLevel,
        tttUrl: ttt.url,
        ...(this.profileDir ? { cpuProfileDir: this.profileDir } : {}),
      });
    }
    return this.engineProcess;
  }

  /** Bench users of the shared engine: JWTs, credits, vended tokens. */
  async users(): Promise<EngineUsers> {
    this.engineUsers ??= await EngineUsers.create(this.creds, (await this.engine()).url);
    return this.engineUsers;
  }

  /** Another process to stop with the stack (proxies, a second engine). */
  track(server: ServerProcess): ServerProcess {
    this.extra.push(server);
    return server;
  }

  async close(): Promise<void> {
    await Promise.all(this.extra.map((s) => s.stop()));
    if (this.engineProcess) await this.engineProcess.stop();
    if (this.tttProcess) await this.tttProcess.stop();
    this.ws.dispose();
  }
}
