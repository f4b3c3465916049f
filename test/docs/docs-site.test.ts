/**
 * Builds the docs site into a temp dir, serves it on 127.0.0.1 and opens every page in headless Chromium with
 * all traffic intercepted: any request to a host other than localhost is aborted and fails the suite. Checks
 * that Redoc rendered operations, the error catalog has an anchor per code and the X-Engine-Auth guide shows the
 * vectors and a rendered mermaid diagram. Screenshots go to test-results/docs/.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildDocs, type DocsBuild } from '../../scripts/build-docs.js';
import { createCleanupStack } from '../helpers/cleanup-stack.js';
import { serveStatic, type StaticServer } from './static-server.js';

/** The part of a DOM element these checks read (tsconfig has no DOM lib; the callbacks run in the browser). */
interface DomElement {
  getAttribute(name: string): string | null;
}

const root = new URL('../../', import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = new URL('test-results/docs/', root).pathname;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

let outDir: string;
let build: DocsBuild;
let site: StaticServer;
let browser: Browser;
let context: BrowserContext;
/** Every request the pages made, and those aimed at another host (aborted). */
const requests: string[] = [];
const external: string[] = [];
/** Uncaught exceptions and console errors (a CSP violation or a failed load shows up here). */
const pageErrors: string[] = [];
const cleanup = createCleanupStack();

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH.`);
  }
  outDir = mkdtempSync(join(tmpdir(), 'pluct-docs-'));
  cleanup.defer(() => rmSync(outDir, { recursive: true, force: true }));
  build = await buildDocs(outDir);
  site = await serveStatic(outDir);
  cleanup.defer(() => site.close());
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  cleanup.defer(() => browser.close());
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  cleanup.defer(() => context.close());
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    requests.push(url.href);
    if (LOCAL_HOSTS.has(url.hostname)) return route.continue();
    external.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  mkdirSync(SHOTS, { recursive: true });
}, 90_000);

afterAll(() => cleanup.run());

async function open(fileName: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${fileName}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`${fileName}: console: ${message.text().slice(0, 300)}`);
  });
  const response = await page.goto(site.url + fileName, { waitUntil: 'load' });
  expect(response?.status(), fileName).toBe(200);
  return page;
}

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  await page.close();
}

describe('docs site (offline)', () => {
  it('builds every page, one per docs/*.md', () => {
    const guides = readdirSync(new URL('docs/', root))
      .filter((f) => f.endsWith('.md'))
      .map((f) => f.replace(/\.md$/, '.html'));
    expect(guides).toContain('engine-auth.html');
    expect([...build.pages].sort()).toEqual(
      ['index.html', 'errors.html', 'business-engine.html', 'tttranscribe.html', ...guides].sort(),
    );
  });

  it('index links every page with relative URLs', async () => {
    const page = await open('index.html');
    const hrefs = await page
      .locator('main a')
      .evaluateAll((links: DomElement[]) => links.map((a) => a.getAttribute('href') ?? ''));
    for (const file of build.pages.filter((p) => p !== 'index.html')) expect(hrefs).toContain(file);
    expect(hrefs.filter((h) => h.startsWith('/') || /^[a-z]+:/i.test(h))).toEqual([]);
    await shoot(page, 'index');
  });

  it.each([
    ['business-engine.html', 'Buy a service token (1 credit)'],
    ['tttranscribe.html', 'Submit a transcription job'],
  ])('%s renders the operations with the local Redoc', async (fileName, summary) => {
    const page = await open(fileName);
    await page.locator('html[data-redoc-ready="true"]').waitFor({ timeout: 15_000 });
    await expect(page.locator('h2', { hasText: summary }).first().isVisible()).resolves.toBe(true);
    expect(
      await page.locator('script[src]').evaluateAll((s: DomElement[]) => s.map((e) => e.getAttribute('src'))),
    ).toEqual(expect.arrayContaining(['assets/redoc.standalone.js']));
    await shoot(page, fileName.replace('.html', ''));
  });

  it('errors.html has an anchor per catalog code with its status', async () => {
    const catalog = parse(readFileSync(new URL('spec/shared/errors.yaml', root), 'utf8')) as {
      problems: Record<string, { value: { status: number } }>;
      jobFailures: Record<string, unknown>;
    };
    const page = await open('errors.html');
    for (const [code, entry] of Object.entries(catalog.problems)) {
      const section = page.locator(`[id="${code}"]`);
      await expect(section.count(), code).resolves.toBe(1);
      await expect(section.locator('.pluct-status').first().textContent()).resolves.toBe(String(entry.value.status));
    }
    for (const code of Object.keys(catalog.jobFailures))
      await expect(page.locator(`[id="${code}"]`).count()).resolves.toBe(1);
    await expect(
      page.locator('#token_expired a[href^="business-engine.html#operation/"]').count(),
    ).resolves.toBeGreaterThan(0);
    await page.goto(`${site.url}errors.html#token_expired`);
    await shoot(page, 'errors');
  });

  it('engine-auth.html shows the vectors and a rendered sequence diagram', async () => {
    const vectors = JSON.parse(readFileSync(new URL('spec/shared/engine-auth-vectors.json', root), 'utf8')) as {
      vectors: Array<{ header: string }>;
    };
    const page = await open('engine-auth.html');
    await page.locator('html[data-mermaid-ready]').waitFor({ timeout: 15_000 });
    const mermaidState = await page.getAttribute('html', 'data-mermaid-ready');
    expect(mermaidState, `mermaid could not render the diagram:\n${pageErrors.join('\n')}`).toBe('true');
    await expect(page.locator('pre.mermaid svg').count()).resolves.toBeGreaterThan(0);
    await expect(page.locator('pre.mermaid svg').first().textContent()).resolves.toContain('TTTranscribe');
    await expect(page.locator('#test-vectors').textContent()).resolves.toContain(vectors.vectors[0]?.header);
    await page.locator('pre.mermaid').first().scrollIntoViewIfNeeded();
    await shoot(page, 'engine-auth');
  });

  it('every other guide page renders', async () => {
    const done = ['index.html', 'errors.html', 'engine-auth.html', 'business-engine.html', 'tttranscribe.html'];
    for (const fileName of build.pages.filter((p) => !done.includes(p))) {
      const page = await open(fileName);
      await expect(page.locator('main h1').count(), fileName).resolves.toBeGreaterThan(0);
      await shoot(page, fileName.replace('.html', ''));
    }
  });

  it('no request left localhost and no page threw', () => {
    expect(requests.some((url) => url.endsWith('/assets/redoc.standalone.js'))).toBe(true);
    expect(requests.some((url) => url.endsWith('/assets/mermaid.min.js'))).toBe(true);
    expect(external).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
