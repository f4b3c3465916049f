import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { WindowSpan } from './bench-context.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a profile's CPU time went. */
export interface ProfileSummary {
  readonly file: string;
  /** Busy (non-idle) time sampled, ms. */
  readonly totalMs: number;
  /** Self time by function (`name file:line`), biggest first; percentages are of busy time. */
  readonly functions: ReadonlyArray<{ readonly name: string; readonly selfMs: number; readonly percent: number }>;
  /** Self time by origin: a node_modules package, node internals, or a project folder. */
  readonly origins: ReadonlyArray<{ readonly origin: string; readonly selfMs: number; readonly percent: number }>;
}

/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per origin (package or project
 * folder), so a hot spot can be named by file and line without opening a profiler UI.
 *
 * @example
 * const s = summariseProfile('bench/results/profiles.tmp/business-engine.1.cpuprofile');
 * s.functions.slice(0, 10);
 */
export function summariseProfile(
  file: string,
  top = 25,
  spans?: ReadonlyArray<{ startUs: number; endUs: number }>,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    const delta = Math.max(0, deltas[i] ?? 0);
    at += deltas[i] ?? 0;
    if (spans && !spans.some((s) => at >= s.startUs && at <= s.endUs)) continue;
    // Each delta is the time before its sample; attribute it to that sample's node.
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0 || node.callFrame.functionName === '(idle)') continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const name = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const origin = originOf(url, functionName);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ key: k, selfMs: Math.round(us / 100) / 10, percent: Math.round((us / total) * 1000) / 10 }));
  return {
    file,
    totalMs: Math.round(total / 1000),
    functions: rank(byFunction).map(({ key, ...rest }) => ({ name: key, ...rest })),
    origins: rank(byOrigin).map(({ key, ...rest }) => ({ origin: key, ...rest })),
  };
}

/**
 * Summaries of the .cpuprofile files under a folder (one subfolder per process, named like the server), as
 * markdown: the whole run, then each measured window that loaded that process (samples are matched to windows
 * by the shared monotonic clock). Idle time is left out of the percentages, and a thread that was busy less than
 * a second (tsx's loader thread) is skipped.
 *
 * @example
 * writeFileSync(join(dir, 'summary.md'), summariseProfileDir(dir, ctx.windows));
 */
export function summariseProfileDir(dir: string, windows: readonly WindowSpan[] = [], top = 25): string {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  const parts: string[] = ['# CPU profiles', ''];
  for (const f of files) {
    const whole = summariseProfile(join(dir, f), top);
    if (whole.totalMs < 1000) continue;
    parts.push(...section(`${f}: whole run`, whole, top));
    const processName = basename(dirname(f));
    const ids = [...new Set(windows.filter((w) => w.servers.includes(processName)).map((w) => w.id))];
    for (const id of ids) {
      const spans = windows.filter((w) => w.id === id);
      parts.push(...section(`${f}: during ${id}`, summariseProfile(join(dir, f), Math.min(top, 15), spans), 15));
    }
  }
  return parts.join('\n');
}

function section(title: string, s: ProfileSummary, top: number): string[] {
  const lines = [`## ${title} (${s.totalMs} ms busy)`, '', '| self % | self ms | origin |', '| ---: | ---: | --- |'];
  for (const o of s.origins.slice(0, 10)) lines.push(`| ${o.percent} | ${o.selfMs} | ${o.origin} |`);
  lines.push('', '| self % | self ms | function |', '| ---: | ---: | --- |');
  for (const fn of s.functions.slice(0, top)) lines.push(`| ${fn.percent} | ${fn.selfMs} | \`${fn.name}\` |`);
  lines.push('');
  return lines;
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  return path.startsWith('/') ? relative(process.cwd(), path) : path;
}

function originOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? path);
  }
  if (path.startsWith('node:')) return 'node internals';
  const rel = relative(process.cwd(), path);
  const parts = rel.split('/');
  return parts.length > 2 ? parts.slice(0, 3).join('/') : rel;
}
