/**
 * Builds the static docs site (`npm run docs`, into docs-dist/) that works with no network at all:
 * - `<api>.html` per API in redocly.yaml: `redocly build-docs` with a custom template that loads Redoc 2.5.1
 *   from a local copy (plus `<api>.openapi.json`, the bundled spec);
 * - `errors.html`: the error catalog (spec/shared/errors.yaml) with an anchor per code;
 * - one page per `docs/*.md` (mermaid diagrams rendered in the browser by a local mermaid bundle);
 * - `index.html` linking everything. All links are relative: the engine serves the site under `/docs`.
 * The build fails if any page would load anything from another host.
 *
 * Usage: `npm run docs`, or `tsx scripts/build-docs.ts --out DIR [--docs MARKDOWN_DIR]`.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { collectCodeUsage, mergeCodeUsage } from './docs/catalog-usage.js';
import { renderErrorCatalogBody, type ErrorCatalog } from './docs/error-catalog-page.js';
import { renderGuides } from './docs/guide-pages.js';
import { renderIndexBody } from './docs/index-page.js';
import { CONTENT_SECURITY_POLICY, renderPage, renderTopBar, type NavLink } from './docs/layout.js';
import { findExternalResources } from './docs/offline-check.js';
import { buildRedocPage, bundleApi, copyRedocBundle } from './docs/redoc-pages.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const assetsDir = join(root, 'scripts', 'docs', 'assets');
const require = createRequire(import.meta.url);

/** The result of a build: where it went and which pages it wrote. */
export interface DocsBuild {
  outDir: string;
  /** Page file names relative to outDir, index.html first. */
  pages: string[];
}

/** Copies the local stylesheet, the init scripts and the Redoc and mermaid bundles into `<outDir>/assets`. */
async function copyAssets(outDir: string): Promise<void> {
  const target = join(outDir, 'assets');
  await mkdir(target, { recursive: true });
  const files: Array<[string, string]> = [
    [join(assetsDir, 'docs.css'), 'docs.css'],
    [join(assetsDir, 'favicon.svg'), 'favicon.svg'],
    [join(assetsDir, 'redoc-init.js'), 'redoc-init.js'],
    [join(assetsDir, 'mermaid-init.js'), 'mermaid-init.js'],
    [require.resolve('redoc/bundles/redoc.standalone.js.LICENSE.txt'), 'redoc.standalone.js.LICENSE.txt'],
    [require.resolve('mermaid/dist/mermaid.min.js'), 'mermaid.min.js'],
  ];
  await Promise.all(files.map(([from, name]) => copyFile(from, join(target, name))));
  await copyRedocBundle(join(target, 'redoc.standalone.js'));
}

/** Marks a directory as a docs build, so a later build may empty it (and nothing else). */
const BUILD_MARKER = '.pluct-docs-build';

/** Empties `out` for a fresh build: only a new or empty directory or one holding an earlier build. */
async function emptyOutputDir(out: string): Promise<void> {
  const entries = existsSync(out) ? await readdir(out) : [];
  if (entries.length > 0 && !entries.includes(BUILD_MARKER)) {
    throw new Error(`refusing to empty ${out}: it is not empty and holds no earlier docs build (${BUILD_MARKER})`);
  }
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, BUILD_MARKER), 'Built by scripts/build-docs.ts; emptied and rebuilt by every build.\n');
}

/** Build options; the defaults build the repository's own docs. */
export interface DocsBuildOptions {
  /** Directory of the markdown guides (default `docs/`). */
  docsDir?: string;
}

/**
 * Builds the whole site into `outDir` (emptied first).
 *
 * @example
 * const { pages } = await buildDocs(resolve('docs-dist'));
 */
export async function buildDocs(outDir: string, options: DocsBuildOptions = {}): Promise<DocsBuild> {
  const out = resolve(outDir);
  await emptyOutputDir(out);
  await copyAssets(out);

  const config = parse(await readFile(join(root, 'redocly.yaml'), 'utf8')) as { apis: Record<string, unknown> };
  const bundles = await Promise.all(Object.keys(config.apis).map((api) => bundleApi(root, out, api)));
  const reserved = ['index.html', 'errors.html', ...bundles.map((b) => b.fileName)];
  const guides = await renderGuides(root, out, reserved, options.docsDir);
  const nav: NavLink[] = [
    ...bundles.map((b) => ({ href: b.fileName, label: `${b.title} API` })),
    { href: 'errors.html', label: 'Errors' },
    ...guides.map((g) => ({ href: g.fileName, label: g.title })),
  ];
  const template = join(assetsDir, 'redoc-template.hbs');
  await Promise.all(
    bundles.map((bundle) =>
      buildRedocPage(bundle, {
        root,
        outDir: out,
        template,
        csp: CONTENT_SECURITY_POLICY,
        navHtml: renderTopBar(nav, bundle.fileName),
      }),
    ),
  );

  const catalog = parse(await readFile(join(root, 'spec', 'shared', 'errors.yaml'), 'utf8')) as ErrorCatalog;
  const usage = mergeCodeUsage(bundles.map((b) => collectCodeUsage(b.api, b.spec)));
  const pages: Array<{ fileName: string; html: string }> = [
    {
      fileName: 'index.html',
      html: renderPage({ title: 'Home', fileName: 'index.html', nav, body: renderIndexBody(bundles, guides) }),
    },
    {
      fileName: 'errors.html',
      html: renderPage({
        title: 'Error catalog',
        fileName: 'errors.html',
        nav,
        body: renderErrorCatalogBody(catalog, usage),
      }),
    },
    ...guides.map((g) => ({
      fileName: g.fileName,
      html: renderPage({
        title: g.title,
        fileName: g.fileName,
        nav,
        body: g.body,
        scripts: g.hasMermaid ? ['assets/mermaid.min.js', 'assets/mermaid-init.js'] : [],
      }),
    })),
  ];
  await Promise.all(pages.map((p) => writeFile(join(out, p.fileName), p.html)));

  const findings = await findExternalResources(out);
  if (findings.length > 0)
    throw new Error(`the docs site must not load anything from the network:\n${findings.join('\n')}`);
  return { outDir: out, pages: [...pages.map((p) => p.fileName), ...bundles.map((b) => b.fileName)] };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: join(root, 'docs-dist') }, docs: { type: 'string' } },
  });
  try {
    const build = await buildDocs(values.out, values.docs ? { docsDir: resolve(values.docs) } : {});
    for (const page of build.pages) console.log(`wrote ${relative(process.cwd(), join(build.outDir, page))}`);
  } catch (error) {
    console.error(`npm run docs: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
