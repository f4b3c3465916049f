import { spawn } from 'node:child_process';
import { abortReason } from '../abort-reason.js';

/** Options for {@link runProcess}. */
export interface RunProcessOptions {
  /** Aborting kills the whole process group and rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /** Kill the process after this long; the result then has `timedOut: true`. */
  readonly timeoutMs?: number | undefined;
  /** Stop (kill) once stdout exceeds this many bytes; the result then has `outputTooLarge: true`. */
  readonly maxStdoutBytes?: number | undefined;
  readonly cwd?: string | undefined;
  /** Called with each stderr chunk (ffmpeg writes its progress and diagnostics there). */
  readonly onStderr?: ((chunk: string) => void) | undefined;
  /** Called with each stdout chunk, in addition to collecting it. */
  readonly onStdout?: ((chunk: string) => void) | undefined;
}

export interface RunProcessResult {
  readonly exitCode: number | null;
  readonly killSignal: NodeJS.Signals | null;
  readonly stdout: string;
  /** The last few KB of stderr, for diagnostics (kept out of user-facing messages). */
  readonly stderrTail: string;
  readonly timedOut: boolean;
  readonly outputTooLarge: boolean;
}

/**
 * The program could not be started at all (`ENOENT`: not installed / not on PATH; `EACCES`: not executable).
 *
 * @example
 * try { await runProcess('ffmpeg', ['-version']); } catch (err) { if (err instanceof ProcessStartError) console.log(err.code); }
 */
export class ProcessStartError extends Error {
  override readonly name = 'ProcessStartError';
  constructor(
    readonly program: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`Could not start ${program}: ${code}`, options);
  }
}

const STDERR_TAIL = 8 * 1024;
/** Only these variables reach child programs, so service secrets in the environment never do. */
const PASSED_ENV = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TMPDIR',
  'TZ',
  'LD_LIBRARY_PATH',
  'CUDA_VISIBLE_DEVICES',
  'OMP_NUM_THREADS',
  'XDG_CACHE_HOME',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
];

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of PASSED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  return env;
}

/**
 * Runs a program with an argv array (never a shell), collecting stdout and a stderr tail, with a time limit and
 * abort support. The child gets its own process group so helpers it spawns die with it.
 *
 * @example
 * const r = await runProcess('ffmpeg', ['-version'], { timeoutMs: 5_000 });
 * if (r.exitCode === 0) console.log(r.stdout.split('\n')[0]);
 */
export function runProcess(
  program: string,
  args: readonly string[],
  options: RunProcessOptions = {},
): Promise<RunProcessResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = '';
    let timedOut = false;
    let outputTooLarge = false;
    let settled = false;
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, options.timeoutMs);
    let aborted = false;
    // Settle only on 'close', so callers can delete the child's files once the promise is done.
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    function finish(settle: () => void): void {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (options.maxStdoutBytes !== undefined && stdoutBytes > options.maxStdoutBytes) {
        outputTooLarge = true;
        kill();
        return;
      }
      stdout.push(chunk);
      options.onStdout?.(chunk.toString('utf8'));
    });
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
      options.onStderr?.(text);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      kill();
      finish(() => reject(new ProcessStartError(program, err.code ?? 'UNKNOWN', { cause: err })));
    });
    child.on('close', (exitCode, killSignal) => {
      // (`aborted` is only ever set by the signal's listener.)
      if (aborted && signal) {
        finish(() => reject(abortReason(signal)));
        return;
      }
      finish(() =>
        resolve({
          exitCode,
          killSignal,
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderrTail,
          timedOut,
          outputTooLarge,
        }),
      );
    });
  });
}
