import type { BenchReport, Measurement, MeasurementGroup } from './bench-result.js';
import { MEASUREMENT_IDS as ids } from './targets.js';

/** Other work on the machine above this (% of one core, averaged over windows) is called out in the report. */
export const BUSY_BACKGROUND_PERCENT = 30;

/**
 * Renders a report as commit-friendly markdown: targets, the main table at the fixed concurrency, the steady-rate
 * comparison, latency against connections and against ledger rows, notes, then every measurement in detail
 * (CPU per process, statuses). Everything between the "summary" markers is what the README shows.
 *
 * @example
 * writeFileSync('bench/results/latest.md', renderMarkdown(report));
 */
export function renderMarkdown(report: BenchReport): string {
  const { machine, settings } = report;
  const lines: string[] = ['# Benchmark results', ''];
  lines.push(
    `${report.date} · ${machine.cpus} × ${machine.cpuModel} · ${machine.memoryGiB} GiB · Node ${machine.node} · ${machine.os}`,
    '',
  );
  lines.push(
    `Closed-loop windows of ${settings.windowSec} s per endpoint after ${settings.warmupSec} s of warm-up, ${settings.connections} ` +
      `connections unless stated; every server is its own process on 127.0.0.1 (log level ${settings.logLevel}) and the load ` +
      `generator shares the ${machine.cpus} cores. A target and its baseline run in ${settings.rounds} alternating windows each, ` +
      'so a slow stretch of the machine hits both alike. "CPU ms/req" is the servers\' CPU time per answer, which a busy ' +
      `machine distorts far less than req/s. Whole run: ${Math.round(report.durationSec)} s${settings.quick ? ' (quick mode: indicative only)' : ''}.`,
  );
  const background = meanBackground(report.measurements);
  if (background !== null && background > BUSY_BACKGROUND_PERCENT) {
    lines.push(
      '',
      `**The machine was busy with other work during this run (on average ${Math.round(background)} % of a core besides ` +
        'the bench): absolute numbers are low and ratios noisier than usual.**',
    );
  }
  lines.push('', '<!-- summary:start -->', '', ...renderSummary(report), '<!-- summary:end -->');
  if (report.notes.length > 0) {
    lines.push('', '## Notes', '');
    for (const note of report.notes) lines.push(`- ${note}`);
  }
  lines.push('', '## Every measurement', '');
  lines.push(
    '| group | scenario | request | load | req/s | p50 ms | p99 ms | max ms | CPU ms/req | CPU %: servers · load gen · other | answers |',
  );
  lines.push('| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |');
  for (const m of report.measurements) lines.push(detailRow(m));
  return `${lines.join('\n')}\n`;
}

/**
 * The README's tables: targets, the main table, the steady-rate pair, and the connection and ledger sweeps.
 *
 * @example
 * renderSummary(report).join('\n');
 */
export function renderSummary(report: BenchReport): string[] {
  const byId = new Map(report.measurements.map((m) => [m.id, m]));
  const lines: string[] = ['### Targets (ratios within this run)', ''];
  lines.push('| target | measured | needed | result |', '| --- | ---: | ---: | --- |');
  for (const t of report.targets) {
    const unit = t.unit === 'x' ? ' x' : ' ms';
    const measured = t.measured === null ? '–' : `${t.measured}${unit}`;
    const result = t.status === 'pass' ? 'pass' : t.status === 'fail' ? '**miss**' : `not measured (${t.note ?? ''})`;
    lines.push(`| ${t.description} | ${measured} | ${t.comparison} ${t.threshold}${unit} | ${result} |`);
  }

  const main = report.measurements.filter(
    (m) => m.mode === 'closed' && ['limits', 'services', 'mocks', 'cluster'].includes(m.group),
  );
  if (main.length > 0) {
    const conns = report.settings.connections;
    lines.push('', `### At ${conns} connections`, '');
    lines.push(
      '| endpoint | req/s | p50 ms | p99 ms | CPU ms/req | ratio |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
    );
    for (const m of main)
      lines.push(
        `| ${m.title} (\`${m.request}\`) | ${m.rps} | ${fmt(m.latencyMs.p50)} | ${fmt(m.latencyMs.p99)} | ${cost(m)} | ${ratioNote(m, byId)} |`,
      );
  }

  const paced = report.measurements.filter((m) => m.group === 'fixed-rate');
  if (paced.length > 0) {
    lines.push('', `### At a steady ${report.settings.pacedRate} req/s (evenly spaced, open loop)`, '');
    lines.push('| endpoint | p50 ms | p99 ms | max ms | CPU ms/req |', '| --- | ---: | ---: | ---: | ---: |');
    for (const m of paced)
      lines.push(
        `| ${m.title} (\`${m.request}\`) | ${fmt(m.latencyMs.p50)} | ${fmt(m.latencyMs.p99)} | ${fmt(m.latencyMs.max)} | ${cost(m)} |`,
      );
  }

  const sweep = (
    group: MeasurementGroup,
    param: string,
    heading: string,
    label: (v: number) => string,
    series: Array<[string, string]>,
  ) => {
    const rows = report.measurements.filter((m) => m.group === group);
    if (rows.length === 0) return;
    const steps = [...new Set(rows.map((m) => Number(m.id.split('.').at(-1))))].sort((a, b) => a - b);
    lines.push('', heading, '');
    lines.push(`| ${param} | ${series.map(([, t]) => `${t} req/s | ${t} p50 ms | ${t} p99 ms`).join(' | ')} |`);
    lines.push(`| ---: | ${series.map(() => '---: | ---: | ---:').join(' | ')} |`);
    for (const step of steps) {
      const cells = series.map(([prefix]) => {
        const m = rows.find((r) => r.id === `${group}.${prefix}.${step}`);
        return m ? `${m.rps} | ${fmt(m.latencyMs.p50)} | ${fmt(m.latencyMs.p99)}` : '– | – | –';
      });
      lines.push(`| ${label(step)} | ${cells.join(' | ')} |`);
    }
  };
  sweep('connections', 'connections', '### Latency from 1 to 200 connections', String, [
    ['credit-balance', 'balance'],
    ['gateway-transcribe', 'gateway'],
  ]);
  sweep(
    'ledger',
    'ledger rows',
    `### Latency from 1k to 1M ledger rows (${report.settings.connections} connections)`,
    rowsLabel,
    [
      ['credit-balance', 'balance'],
      ['vend-token', 'vend'],
    ],
  );
  lines.push('');
  return lines;
}

/**
 * Mean CPU the rest of the machine used during the measured windows, % of one core; null without /proc.
 *
 * @example
 * meanBackground(report.measurements); // 12.5
 */
export function meanBackground(measurements: readonly Measurement[]): number | null {
  const values = measurements.flatMap((m) => m.cpu.filter((c) => c.process === 'background').map((c) => c.percent));
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** Which baseline a row is usually compared with, and the ratio. */
const RATIO_BASES: Record<string, readonly string[]> = {
  [ids.bareProxyBare]: [ids.bareHttp],
  [ids.expressHello]: [ids.bareHttp],
  [ids.gatewayTranscribe]: [ids.bareProxyTtt],
  [ids.bareProxyTtt]: [ids.tttTranscribe],
  [ids.creditBalance]: [ids.expressHello, ids.bareBalance],
  [ids.bareBalance]: [ids.expressHello],
  [ids.vendToken]: [ids.expressHello, ids.bareVend],
  [ids.bareVend]: [ids.expressHello],
  'mocks.tttranscribe-transcribe': [ids.tttTranscribe],
  'mocks.business-engine-balance': [ids.creditBalance],
};

function ratioNote(m: Measurement, byId: ReadonlyMap<string, Measurement>): string {
  return (RATIO_BASES[m.id] ?? [])
    .map((id) => byId.get(id))
    .filter((b): b is Measurement => b !== undefined && b.rps > 0)
    .map((b) => `${(m.rps / b.rps).toFixed(2)} x ${b.title}`)
    .join('; ');
}

function detailRow(m: Measurement): string {
  const load = `${m.mode === 'paced' ? `${m.rate} req/s` : `${m.connections} conn`}${m.rounds > 1 ? ` (${m.rounds} rounds)` : ''}`;
  const servers = m.cpu
    .filter((c) => c.process !== 'load-generator' && c.process !== 'background')
    .map((c) => `${c.process} ${Math.round(c.percent)}`)
    .join(', ');
  const pick = (name: string) => {
    const share = m.cpu.find((c) => c.process === name);
    return share ? String(Math.round(share.percent)) : '–';
  };
  const answers =
    Object.entries(m.statuses)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ') +
    (m.errors > 0 ? ` errors×${m.errors}` : '') +
    (m.unexpected > 0 ? ' **unexpected**' : '') +
    (m.exhausted ? ' (supply used up early)' : '');
  return (
    `| ${m.group} | ${m.title} | ${m.request} | ${load} | ${m.rps} | ${fmt(m.latencyMs.p50)} | ${fmt(m.latencyMs.p99)} | ` +
    `${fmt(m.latencyMs.max)} | ${cost(m)} | ${servers || '–'} · ${pick('load-generator')} · ${pick('background')} | ${answers} |`
  );
}

function cost(m: Measurement): string {
  return m.serverCpuMsPerRequest === null ? '–' : m.serverCpuMsPerRequest.toFixed(2);
}

function rowsLabel(rows: number): string {
  return rows >= 1_000_000 ? `${rows / 1_000_000}M` : rows >= 1000 ? `${rows / 1000}k` : String(rows);
}

function fmt(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}
