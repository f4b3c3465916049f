import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const EXIT_WITH_PARENT = new URL('./exit-with-parent.ts', import.meta.url).href;

/** One service process of the stack. */
export interface ChildService {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly hasExited: () => boolean;
  /** SIGTERM, then SIGKILL after `graceMs` if still running; resolves when the process is gone. */
  stop(graceMs: number): Promise<void>;
  /** SIGKILL now. */
  kill(): void;
}

/**
 * Starts `node --import tsx <entry>` in its own process group (so a terminal's Ctrl-C reaches only the stack,
 * which then stops each service exactly once), with an IPC channel to the stack: when the stack dies, even by
 * SIGKILL, the channel closes and the service drains and exits (`exit-with-parent.ts`). JSON log lines pass
 * through unchanged; any other line (a config error, a stack trace) is prefixed with the service name.
 *
 * @example
 * const engine = startChildService('business-engine', 'server/business-engine/main.ts', { cwd: root, env });
 */
export function startChildService(
  name: string,
  entry: string,
  options: { cwd: string; env: Record<string, string>; write: (line: string) => void },
): ChildService {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', EXIT_WITH_PARENT, entry], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  child.channel?.unref(); // the channel exists for the child to notice the stack's death, not to keep it alive
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      options.write(`[${name}] could not start: ${error.message}`);
      done = true;
      resolve({ code: 1, signal: null });
    });
  });
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) =>
      options.write(line.startsWith('{') ? line : `[${name}] ${line}`),
    );
  }
  const signal = (sig: NodeJS.Signals) => {
    if (done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig); // the whole group: the service and anything it spawned (ffmpeg, pocketsphinx)
    } catch {
      child.kill(sig);
    }
  };
  return {
    name,
    child,
    exited,
    hasExited: () => done,
    async stop(graceMs) {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill: () => signal('SIGKILL'),
  };
}
