import { readFileSync } from 'node:fs';

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream kernel configuration.
const CLOCK_TICKS_PER_SEC = 100;

/**
 * CPU seconds (user + system) a process has used so far, read from /proc/<pid>/stat; `undefined` when the
 * process is gone or /proc is unavailable (not Linux).
 *
 * @example
 * const before = processCpuSeconds(child.pid);
 */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is parenthesised and may contain spaces, so split after its closing ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / CLOCK_TICKS_PER_SEC;
}

/**
 * CPU seconds the whole machine has been busy (all cores; user, nice, system, irq, softirq, steal), from
 * /proc/stat; `undefined` off Linux.
 *
 * @example
 * const busy = machineBusySeconds();
 */
export function machineBusySeconds(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const fields = (stat.split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SEC;
}

/** One process's CPU over a window: seconds used, and percent of one core (100 = one core fully busy). */
export interface CpuShare {
  readonly process: string;
  readonly cpuSec: number;
  readonly percent: number;
}

/** What a CpuMeter saw over one window. */
export interface CpuWindow {
  readonly elapsedSec: number;
  readonly shares: readonly CpuShare[];
}

/**
 * Measures the CPU of several processes over a window: call `start()` when the window opens and `stop()` when it
 * closes. The load generator (this process) is measured with `process.cpuUsage`, and everything else the machine
 * ran meanwhile (other users' work on a shared host) is reported as `background`.
 *
 * @example
 * const meter = new CpuMeter([{ name: 'tttranscribe', pid }]);
 * meter.start();
 * await load();
 * meter.stop().shares; // [{ process: 'tttranscribe', percent: 97.1, … }, { process: 'load-generator', … },
 *                      //  { process: 'background', … }]
 */
export class CpuMeter {
  private startedAt = 0;
  private before: Array<number | undefined> = [];
  private selfBefore: NodeJS.CpuUsage = process.cpuUsage();
  private machineBefore: number | undefined;

  constructor(private readonly processes: ReadonlyArray<{ readonly name: string; readonly pid: number }>) {}

  start(): void {
    this.before = this.processes.map((p) => processCpuSeconds(p.pid));
    this.selfBefore = process.cpuUsage();
    this.machineBefore = machineBusySeconds();
    this.startedAt = performance.now();
  }

  stop(): CpuWindow {
    const elapsedSec = (performance.now() - this.startedAt) / 1000;
    const seconds: Array<{ process: string; cpuSec: number }> = [];
    this.processes.forEach((p, i) => {
      const before = this.before[i];
      const after = processCpuSeconds(p.pid);
      if (before !== undefined && after !== undefined) seconds.push({ process: p.name, cpuSec: after - before });
    });
    const self = process.cpuUsage(this.selfBefore);
    seconds.push({ process: 'load-generator', cpuSec: (self.user + self.system) / 1e6 });
    const machineAfter = machineBusySeconds();
    if (this.machineBefore !== undefined && machineAfter !== undefined) {
      const ours = seconds.reduce((sum, c) => sum + c.cpuSec, 0);
      seconds.push({ process: 'background', cpuSec: Math.max(0, machineAfter - this.machineBefore - ours) });
    }
    return { elapsedSec, shares: toShares(seconds, elapsedSec) };
  }
}

/**
 * Adds up several windows of the same processes (interleaved rounds) into one.
 *
 * @example
 * mergeCpuWindows([round1, round2]).shares;
 */
export function mergeCpuWindows(windows: readonly CpuWindow[]): CpuWindow {
  const elapsedSec = windows.reduce((sum, w) => sum + w.elapsedSec, 0);
  const totals = new Map<string, number>();
  for (const w of windows) for (const s of w.shares) totals.set(s.process, (totals.get(s.process) ?? 0) + s.cpuSec);
  return {
    elapsedSec,
    shares: toShares(
      [...totals].map(([process, cpuSec]) => ({ process, cpuSec })),
      elapsedSec,
    ),
  };
}

function toShares(seconds: ReadonlyArray<{ process: string; cpuSec: number }>, elapsedSec: number): CpuShare[] {
  return seconds.map(({ process, cpuSec }) => ({
    process,
    cpuSec: Math.round(cpuSec * 1000) / 1000,
    percent: elapsedSec > 0 ? Math.round((cpuSec / elapsedSec) * 1000) / 10 : 0,
  }));
}
