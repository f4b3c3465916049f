/**
 * Renders errors.html from the error catalog (spec/shared/errors.yaml): one section per code with the anchor
 * `id="<code>"` that problem `type` URLs point at (`/docs/errors.html#<code>`), its status, title,
 * responsibility, retryable flag, meaning and fix (the description's markdown), an example body, and the
 * operations of each API that can return it; then the job failure codes.
 */
import type { CodeUsage } from './catalog-usage.js';
import { escapeHtml } from './layout.js';
import { renderMarkdownFragment } from './markdown.js';

/** One catalog entry: an OpenAPI Example object. */
export interface CatalogEntry {
  summary: string;
  description: string;
  value: Record<string, unknown> & { code: string };
}

/** The parsed catalog file. */
export interface ErrorCatalog {
  problems: Record<string, CatalogEntry>;
  jobFailures: Record<string, CatalogEntry>;
}

const WHO_MARK = '**Who acts:**';
const FIX_MARK = '**Fix:**';

interface DescriptionParts {
  meaning: string;
  whoActs: string | undefined;
  fix: string | undefined;
}

/** `x` with its first letter upper-cased (the parts follow a bold label, so they start in lower case). */
const sentence = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** Splits a catalog description (`meaning **Who acts:** … **Fix:** …`) into its three parts. */
function splitDescription(description: string): DescriptionParts {
  const fixAt = description.indexOf(FIX_MARK);
  const beforeFix = fixAt < 0 ? description : description.slice(0, fixAt);
  const fix = fixAt < 0 ? undefined : sentence(description.slice(fixAt + FIX_MARK.length).trim());
  const whoAt = beforeFix.indexOf(WHO_MARK);
  if (whoAt < 0) return { meaning: beforeFix.trim(), whoActs: undefined, fix };
  return {
    meaning: beforeFix.slice(0, whoAt).trim(),
    whoActs: sentence(beforeFix.slice(whoAt + WHO_MARK.length).trim()),
    fix,
  };
}

function field(label: string, value: unknown): string {
  // Strings as they are; numbers and booleans print the same through JSON.stringify as through String().
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '—' : JSON.stringify(value);
  return `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(text)}</dd>`;
}

function renderUsage(usage: readonly CodeUsage[] | undefined): string {
  if (!usage || usage.length === 0) {
    return '<p class="pluct-muted">Not declared by any operation (a framework-level answer, or reserved).</p>';
  }
  const byApi = new Map<string, CodeUsage[]>();
  for (const u of usage) byApi.set(u.api, [...(byApi.get(u.api) ?? []), u]);
  const groups = [...byApi.values()].map((list) => {
    const items = list.map((u) => {
      const anchor = u.operationId ? `#operation/${encodeURIComponent(u.operationId)}` : '';
      const summary = u.summary ? ` — ${escapeHtml(u.summary)}` : '';
      return `<li><span class="pluct-status">${escapeHtml(u.status)}</span> <a href="${escapeHtml(u.api)}.html${anchor}"><code>${escapeHtml(`${u.method} ${u.path}`)}</code></a>${summary}</li>`;
    });
    return `<p><strong>${escapeHtml(list[0]?.apiTitle ?? '')}</strong></p>\n<ul class="pluct-usage">\n${items.join('\n')}\n</ul>`;
  });
  return groups.join('\n');
}

function renderEntry(
  code: string,
  entry: CatalogEntry,
  usage: readonly CodeUsage[] | undefined,
  isJob: boolean,
): string {
  const { meaning, whoActs, fix } = splitDescription(entry.description);
  const value = entry.value;
  const facts = [
    isJob ? field('HTTP status', '200 (inside a job status: error.code)') : field('HTTP status', value.status),
    field('Responsibility', value.responsibility),
    field('Retryable', value.retryable === true ? 'yes' : value.retryable === false ? 'no' : value.retryable),
  ];
  if (!isJob && typeof value.guidance === 'string') facts.push(field('Guidance', value.guidance));
  const fixHtml = fix ? renderMarkdownFragment(fix) : '<p class="pluct-muted">See the guidance above.</p>';
  const status = isJob ? 'job' : String(value.status);
  return `<section class="pluct-code" id="${escapeHtml(code)}">
  <h3><a class="pluct-anchor" href="#${escapeHtml(code)}"><code>${escapeHtml(code)}</code></a> <span class="pluct-status">${escapeHtml(status)}</span> ${escapeHtml(entry.summary)}</h3>
  <dl class="pluct-facts">${facts.join('')}</dl>
  <h4>Meaning</h4>
  ${renderMarkdownFragment(meaning)}
  ${whoActs ? `<h4>Who acts</h4>\n  ${renderMarkdownFragment(whoActs)}` : ''}
  <h4>Fix</h4>
  ${fixHtml}
  <h4>Example</h4>
  <pre><code class="language-json">${escapeHtml(JSON.stringify(value, null, 2))}</code></pre>
  ${isJob ? '' : `<h4>Where</h4>\n  ${renderUsage(usage)}`}
</section>`;
}

function renderIndex(catalog: ErrorCatalog): string {
  const byStatus = new Map<string, string[]>();
  for (const [code, entry] of Object.entries(catalog.problems)) {
    const status = String(entry.value.status);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const rows = [...byStatus.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([status, codes]) =>
        `<tr><th>${escapeHtml(status)}</th><td>${codes.map((c) => `<a href="#${c}"><code>${c}</code></a>`).join(' ')}</td></tr>`,
    );
  const jobCodes = Object.keys(catalog.jobFailures).map((c) => `<a href="#${c}"><code>${c}</code></a>`);
  rows.push(`<tr><th>job</th><td>${jobCodes.join(' ')}</td></tr>`);
  return `<table class="pluct-code-index"><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/**
 * Renders the body of errors.html.
 *
 * @example
 * const body = renderErrorCatalogBody(catalog, usageByCode); // contains <section id="token_expired">
 */
export function renderErrorCatalogBody(catalog: ErrorCatalog, usage: ReadonlyMap<string, CodeUsage[]>): string {
  const clash = Object.keys(catalog.problems).find((code) => code in catalog.jobFailures);
  if (clash) throw new Error(`error catalog: '${clash}' is both a problem and a job failure code`);
  const problems = Object.entries(catalog.problems).map(([code, e]) => renderEntry(code, e, usage.get(code), false));
  const jobs = Object.entries(catalog.jobFailures).map(([code, e]) => renderEntry(code, e, undefined, true));
  return `<h1>Error catalog</h1>
<p>Every error of every Pluct service is an <code>application/problem+json</code> body with a stable
<code>code</code> from this catalog; its <code>type</code> is a link to the code's section here
(<code>/docs/errors.html#&lt;code&gt;</code>). <code>responsibility</code> says who must act and
<code>retryable</code> whether the same request may succeed later. A 401 or 403 always concerns the caller's own
credential; failures of the engine's credentials towards TTTranscribe surface as <code>502 upstream_auth_failure</code>.</p>
<p>Mock servers return any of these on demand: <code>Prefer: code=401, example=token_expired</code>.</p>
${renderIndex(catalog)}
<h2 id="problems">HTTP errors</h2>
${problems.join('\n')}
<h2 id="job-failures">Job failures</h2>
<p>A failed job is not an HTTP error: <code>GET /status/{jobId}</code> answers 200 with <code>status: failed</code>
and one of these codes in <code>error.code</code>.</p>
${jobs.join('\n')}
`;
}
