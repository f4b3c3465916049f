/**
 * The API reference pages: for each API in redocly.yaml, bundles the spec to `<api>.openapi.json`, writes it
 * as a local script (`assets/<api>.spec.js`) and runs `redocly build-docs` with the custom template
 * `assets/redoc-template.hbs`, which loads Redoc 2.5.1 from `assets/redoc.standalone.js` (copied from the
 * `redoc` package) instead of the CDN that build-docs links by default.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** Redoc 2.5.1 shows this logo in the sidebar footer, always fetched from the CDN (no option turns it off). */
const REDOC_CDN_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
/** An empty image, so the attribution link stays but nothing is fetched. */
const EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";

/**
 * Copies the `redoc` package's standalone bundle to `target`, with its one hard-coded CDN image (the sidebar
 * footer logo) replaced by an empty inline SVG.
 *
 * @example
 * await copyRedocBundle('docs-dist/assets/redoc.standalone.js');
 */
export async function copyRedocBundle(target: string): Promise<void> {
  const bundle = await readFile(require.resolve('redoc/bundles/redoc.standalone.js'), 'utf8');
  await writeFile(target, bundle.replaceAll(REDOC_CDN_LOGO, EMPTY_SVG));
}

/** One API bundled into the site: `<api>.openapi.json` plus `assets/<api>.spec.js`. */
export interface BundledApi {
  /** API name as in redocly.yaml. */
  api: string;
  /** The API's `info.title`, e.g. `Business Engine`. */
  title: string;
  /** The bundled spec's file name, e.g. `business-engine.openapi.json`. */
  specJson: string;
  /** The page the reference goes to, e.g. `business-engine.html`. */
  fileName: string;
  /** The bundled spec itself. */
  spec: Record<string, unknown>;
}

/** What the Redoc page of one bundled API needs besides the bundle. */
export interface RedocPageInput {
  /** The repository root (where redocly.yaml is). */
  root: string;
  /** The site's output directory. */
  outDir: string;
  /** Path of the handlebars template. */
  template: string;
  /** The top bar HTML (layout.renderTopBar), identical to the other pages'. */
  navHtml: string;
  /** The Content-Security-Policy every page declares (layout.CONTENT_SECURITY_POLICY). */
  csp: string;
}

const redoclyEnv = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

async function redocly(root: string, args: string[]): Promise<void> {
  const bin = join(root, 'node_modules', '.bin', 'redocly');
  try {
    await run(bin, args, { cwd: root, env: redoclyEnv, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`redocly ${args.join(' ')} failed:\n${stdout}\n${stderr}`, { cause: error });
  }
}

const specScriptOf = (api: string): string => `assets/${api}.spec.js`;

/**
 * Bundles one API (from redocly.yaml, so always the current spec/) into `<outDir>/<api>.openapi.json` and
 * `<outDir>/assets/<api>.spec.js`, the script the Redoc page reads it from.
 *
 * @example
 * const bundle = await bundleApi('/repo', '/repo/docs-dist', 'business-engine');
 * bundle.title // 'Business Engine'
 */
export async function bundleApi(root: string, outDir: string, api: string): Promise<BundledApi> {
  const specJson = `${api}.openapi.json`;
  const specPath = join(outDir, specJson);
  await redocly(root, ['bundle', api, '--ext', 'json', '--output', specPath]);
  const spec = JSON.parse(await readFile(specPath, 'utf8')) as Record<string, unknown>;
  await writeFile(specPath, `${JSON.stringify(spec, null, 2)}\n`);
  // A script rather than a fetch of the JSON, so the page also works when opened from disk (file://).
  await writeFile(join(outDir, specScriptOf(api)), `window.PLUCT_OPENAPI = ${JSON.stringify(spec)};\n`);
  const info = (spec.info ?? {}) as { title?: unknown };
  const title = typeof info.title === 'string' ? info.title : api;
  return { api, title, specJson, fileName: `${api}.html`, spec };
}

/**
 * Builds the Redoc page of a bundled API with `redocly build-docs` and the custom template.
 *
 * @example
 * await buildRedocPage(bundle, { root, outDir, template, navHtml, csp: CONTENT_SECURITY_POLICY });
 */
export async function buildRedocPage(bundle: BundledApi, input: RedocPageInput): Promise<void> {
  await redocly(input.root, [
    'build-docs',
    bundle.api,
    '--output',
    join(input.outDir, bundle.fileName),
    '--template',
    input.template,
    '--title',
    `${bundle.title} API reference`,
    '--templateOptions.stylesheet=assets/docs.css',
    '--templateOptions.favicon=assets/favicon.svg',
    '--templateOptions.redocScript=assets/redoc.standalone.js',
    `--templateOptions.specScript=${specScriptOf(bundle.api)}`,
    '--templateOptions.initScript=assets/redoc-init.js',
    `--templateOptions.specJson=${bundle.specJson}`,
    `--templateOptions.navHtml=${input.navHtml}`,
    `--templateOptions.csp=${input.csp}`,
  ]);
}
