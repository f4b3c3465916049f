import { readFileSync } from 'node:fs';

/** The parent pid and command name of a process, from /proc (Linux); undefined elsewhere or once it has exited. */
function procInfo(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    return state === 'Z' ? undefined : { ppid: Number(ppid), comm }; // a zombie is gone, only not yet reaped
  } catch {
    return undefined;
  }
}

/**
 * Calls `onGone` once when the process that launched the stack is gone: the parent (the stack is re-parented, so
 * `process.ppid` changes) or, under `npm start`, the npm process a few levels up (npm runs the script through a
 * shell, which outlives a SIGKILLed npm). Polls once a second on an unref'd timer.
 *
 * @example
 * watchLauncher(() => void stopAll(0, 'npm start was killed: stopping both services...'));
 */
export function watchLauncher(onGone: (who: string) => void, intervalMs = 1_000): () => void {
  const parent = process.ppid;
  let npm: number | undefined;
  if (process.env['npm_lifecycle_event']) {
    let pid = parent;
    for (let depth = 0; depth < 4 && pid > 1; depth++) {
      const info = procInfo(pid);
      if (!info) break;
      if (/^npm/.test(info.comm)) {
        npm = pid;
        break;
      }
      pid = info.ppid;
    }
  }
  const timer = setInterval(() => {
    const npmGone = npm !== undefined && procInfo(npm) === undefined;
    if (process.ppid !== parent || npmGone) {
      clearInterval(timer);
      onGone(npmGone ? `the npm process (pid ${npm})` : `the parent process (pid ${parent})`);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
