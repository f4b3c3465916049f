/**
 * A strict reader of the Prometheus text exposition format 0.0.4 (the `text/plain; version=0.0.4` bodies of the
 * `getMetrics` operations), written from the format's description so that it judges the services' output
 * instead of trusting the library that wrote it: `# HELP` and `# TYPE` lines, samples
 * `name{label="value",...} value [timestamp]`, escapes, metric families and their suffixes.
 */

/** One sample line, parsed. */
export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** 1-based line number in the body. */
  line: number;
}

export interface PrometheusText {
  samples: PrometheusSample[];
  /** Metric family name -> its `# TYPE`. */
  types: Record<string, string>;
  /** What breaks the format, each naming its line. Empty when the text is valid. */
  errors: string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<string, string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count', ''],
};
// A value is what Go's strconv.ParseFloat reads (the format says so): inf, infinity and nan in any case, so
// prom-client's `Nan` is valid.
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;

function parseValue(text: string): number | undefined {
  if (!VALUE.test(text)) return undefined;
  if (/inf/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return /^nan$/i.test(text) ? NaN : Number(text);
}

/** Reads `{a="x",b="y"}` from the start of `rest`; returns the labels and what follows, or an error. */
function parseLabels(rest: string): { labels: Record<string, string>; rest: string } | string {
  const labels: Record<string, string> = {};
  let s = rest.slice(1);
  while (!s.startsWith('}')) {
    const name = LABEL_NAME.exec(s)?.[0];
    if (!name) return `bad label name at "${s.slice(0, 20)}"`;
    if (name in labels) return `label ${name} repeated`;
    s = s.slice(name.length);
    if (!s.startsWith('="')) return `label ${name} needs ="value"`;
    s = s.slice(2);
    let value = '';
    for (;;) {
      const c = s[0];
      if (c === undefined) return `label ${name}: unterminated value`;
      s = s.slice(1);
      if (c === '"') break;
      if (c === '\\') {
        const escaped = s[0];
        if (escaped !== '\\' && escaped !== '"' && escaped !== 'n')
          return `label ${name}: bad escape \\${escaped ?? ''}`;
        value += escaped === 'n' ? '\n' : escaped;
        s = s.slice(1);
      } else value += c;
    }
    labels[name] = value;
    if (s.startsWith(',')) s = s.slice(1);
    else if (!s.startsWith('}')) return `after label ${name}: expected , or }`;
  }
  return { labels, rest: s.slice(1) };
}

/** The family a sample belongs to under the declared types (`x_bucket` of histogram `x` is `x`). */
function familyOf(name: string, types: Record<string, string>): string | undefined {
  if (name in types) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && SUFFIXES[types[base] ?? '']?.includes(suffix)) return base;
  }
  return undefined;
}

/**
 * Parses a Prometheus text exposition (format 0.0.4) and lists everything that breaks it.
 *
 * @example
 * const { samples, errors } = parsePrometheusText('# TYPE up gauge\nup{service="x"} 1\n');
 * // errors: [], samples: [{ name: 'up', labels: { service: 'x' }, value: 1, line: 2 }]
 */
export function parsePrometheusText(text: string): PrometheusText {
  const samples: PrometheusSample[] = [];
  const types: Record<string, string> = {};
  const helps = new Set<string>();
  const seen = new Set<string>();
  const finished = new Set<string>();
  let current: string | undefined;
  const errors: string[] = [];
  if (text === '') errors.push('the body is empty');
  else if (!text.endsWith('\n')) errors.push('the last line must end with a line feed');
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const fail = (message: string) => errors.push(`line ${line}: ${message}: ${JSON.stringify(raw.slice(0, 120))}`);
    if (raw.trim() === '') return;
    const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(raw);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      if (METRIC_NAME.exec(name)?.[0] !== name) return fail('bad metric name');
      if (kind === 'HELP') {
        if (helps.has(name)) fail(`second HELP for ${name}`);
        helps.add(name);
        return;
      }
      if (!TYPES.has(rest)) return fail(`unknown type ${rest}`);
      if (name in types) return fail(`second TYPE for ${name}`);
      if (samples.some((s) => familyOf(s.name, { [name]: rest }) === name))
        return fail(`TYPE for ${name} after its samples`);
      types[name] = rest;
      return;
    }
    if (raw.startsWith('#')) return;
    const name = METRIC_NAME.exec(raw)?.[0];
    if (!name) return fail('not a sample, HELP, TYPE or comment line');
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const parsed = parseLabels(rest);
      if (typeof parsed === 'string') return fail(parsed);
      ({ labels, rest } = parsed);
    }
    const fields = rest.trim().split(/\s+/);
    if (!rest.startsWith(' ') || fields.length < 1 || fields.length > 2) return fail('expected " value [timestamp]"');
    const value = parseValue(fields[0]!);
    if (value === undefined) return fail(`bad value ${fields[0]}`);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) return fail(`bad timestamp ${fields[1]}`);
    const family = familyOf(name, types);
    if ((family ?? name) !== current) {
      if (finished.has(family ?? name)) fail(`samples of ${family ?? name} are not in one group`);
      if (current !== undefined) finished.add(current);
      current = family ?? name;
    }
    if (family !== undefined && types[family] === 'histogram' && name.endsWith('_bucket') && !('le' in labels))
      fail('a histogram bucket needs an le label');
    const key = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (seen.has(key)) fail(`series ${key} repeated`);
    seen.add(key);
    samples.push({ name, labels, value, line });
  });
  return { samples, types, errors };
}
