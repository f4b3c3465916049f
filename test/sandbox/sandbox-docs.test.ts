/**
 * The docs page "Testing your app in the sandbox": its table is generated from the error catalog and the sandbox's
 * magic-input registry, so every code is on it with its input (or the reason no app can cause it), and it carries
 * the five curl steps the banner prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, jobFailureCodes } from '../../generated/errors.js';
import { renderGuides, type GuidePage } from '../../scripts/docs/guide-pages.js';
import { sandboxSectionMarkdown } from '../../scripts/docs/sandbox-section.js';
import { escapeHtml } from '../../scripts/docs/layout.js';
import { FIVE_STEPS } from '../../server/sandbox/banner.js';
import { MAGIC_INPUTS, UNREACHABLE_BY_DESIGN } from '../../server/sandbox/magic-inputs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let out: string;
let page: GuidePage;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'pluct-sandbox-docs-'));
  const guides = await renderGuides(ROOT, out, ['index.html', 'errors.html']);
  page = guides.find((g) => g.slug === 'sandbox')!;
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('the sandbox docs page', () => {
  it('is titled "Testing your app in the sandbox"', () => {
    expect(page.title).toBe('Testing your app in the sandbox');
  });

  it.each([...errorCodes, ...jobFailureCodes])('its generated table has a row for %s with its input', (code) => {
    const row = sandboxSectionMarkdown()
      .split('\n')
      .find((line) => line.startsWith(`| [\`${code}\`]`));
    expect(row, `${code} has no row`).toBeDefined();
    expect(row).not.toContain('**missing**');
    const magic = MAGIC_INPUTS.find((m) => m.code === code);
    const reason = UNREACHABLE_BY_DESIGN.find((u) => u.code === code);
    expect(row).toContain((magic?.input ?? reason?.reason ?? '(none)').replace(/\|/g, '\\|'));
    expect(page.body).toContain(`errors.html#${code}`);
  });

  it('shows the five steps exactly as the banner prints them', () => {
    for (const step of FIVE_STEPS) expect(page.body).toContain(escapeHtml(step.command));
  });
});
