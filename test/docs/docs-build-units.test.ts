/**
 * Fast checks of the docs build's pieces (no browser): the offline guard, markdown rendering and the
 * catalog-code-to-operation map.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectCodeUsage } from '../../scripts/docs/catalog-usage.js';
import { findExternalResources } from '../../scripts/docs/offline-check.js';
import { renderMarkdown, rewriteDocLink } from '../../scripts/docs/markdown.js';

describe('findExternalResources', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  function site(files: Record<string, string>): string {
    dir = mkdtempSync(join(tmpdir(), 'pluct-offline-'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  it('flags what build-docs emits by default (CDN module import and preload)', async () => {
    const findings = await findExternalResources(
      site({
        'a.html': `<link rel="modulepreload" href="https://cdn.redocly.com/redoc/v3.0.1/bundles/redoc.standalone.js" />
<script type="module">import { hydrate } from "https://cdn.redocly.com/redoc/v3.0.1/bundles/redoc.standalone.js";</script>`,
      }),
    );
    expect(findings).toHaveLength(2);
  });

  it('flags remote scripts, web fonts, CSS imports and remote src set from scripts', async () => {
    const findings = await findExternalResources(
      site({
        'a.html':
          '<script src="//cdn.example.com/x.js"></script><link href="https://fonts.googleapis.com/css?family=Roboto" rel="stylesheet">',
        'b.css': '@import url("https://example.com/x.css");',
        'c.js': 'createElement("img",{src:"https://cdn.redoc.ly/redoc/logo-mini.svg"})',
      }),
    );
    expect(findings.join('\n')).toMatch(/cdn\.example\.com/);
    expect(findings.join('\n')).toMatch(/fonts\.googleapis\.com/);
    expect(findings.join('\n')).toMatch(/b\.css: CSS https:\/\/example\.com/);
    expect(findings.join('\n')).toMatch(/c\.js: script sets src/);
  });

  it('accepts relative resources and plain links to other sites', async () => {
    const findings = await findExternalResources(
      site({
        'a.html': '<script src="assets/redoc.standalone.js"></script><a href="https://redocly.com/redoc/">Redoc</a>',
      }),
    );
    expect(findings).toEqual([]);
  });
});

describe('renderMarkdown', () => {
  it('turns mermaid fences into escaped pre.mermaid blocks and .md links into .html links', () => {
    const page = renderMarkdown(
      '# Guide\n\nSee [vectors](engine-auth-vectors.md#x).\n\n```mermaid\nA->>B: Bearer <t>\n```\n',
    );
    expect(page.title).toBe('Guide');
    expect(page.summary).toBe('See vectors.');
    expect(page.hasMermaid).toBe(true);
    expect(page.html).toContain('<pre class="mermaid">A-&gt;&gt;B: Bearer &lt;t&gt;</pre>');
    expect(page.html).toContain('href="engine-auth-vectors.html#x"');
    expect(page.html).toContain('<h1 id="guide">Guide</h1>');
  });

  it('keeps underscores in the index summary: code spans verbatim, snake_case words whole, emphasis dropped', async () => {
    const page = renderMarkdown(
      '# Auth failures\n\nEach one adds to `auth_failures_total{code,route}`; see _this_ and **that** in log_level.\n',
    );
    expect(page.summary).toBe('Each one adds to auth_failures_total{code,route}; see this and that in log_level.');
    // The real page, as the docs index shows it.
    const { readFile } = await import('node:fs/promises');
    const real = renderMarkdown(await readFile(new URL('../../docs/auth-failures.md', import.meta.url), 'utf8'));
    expect(real.summary).toContain('auth_failures_total{code,route}');
  });

  it('leaves absolute and anchor links alone', () => {
    expect(rewriteDocLink('https://example.com/a.md')).toBe('https://example.com/a.md');
    expect(rewriteDocLink('#a.md')).toBe('#a.md');
    expect(rewriteDocLink('./auth-failures.md')).toBe('auth-failures.html');
  });
});

describe('collectCodeUsage', () => {
  it('maps catalog codes to the operations of the bundled spec that declare them', () => {
    const spec = JSON.parse(
      readFileSync(new URL('../../generated/business-engine/openapi.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>;
    const usage = collectCodeUsage('business-engine', spec);
    expect(usage.get('token_expired')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          method: 'GET',
          path: '/v1/credits/balance',
          status: '401',
          operationId: 'getCreditBalance',
        }),
      ]),
    );
    expect(usage.get('upstream_auth_failure')?.every((u) => u.status === '502')).toBe(true);
  });
});
