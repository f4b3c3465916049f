/**
 * Guards the "works with no network" promise of the docs site: scans the built pages and assets for anything
 * the browser would fetch from another host (script/link/img/iframe/source URLs with a scheme or `//`, CSS
 * `@import`/`url()` to http(s), module imports, `src` set to a remote URL in a script) and for web fonts. The build fails on any finding.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

const EXTERNAL_ATTR =
  /<(script|link|img|iframe|source|audio|video|embed)\b[^>]*?\s(src|href|srcset)\s*=\s*["']?\s*((?:https?:)?\/\/[^"'\s>]+)/gi;
const EXTERNAL_CSS = /(@import\s+(?:url\()?\s*["']?|url\(\s*["']?)((?:https?:)?\/\/[^"')\s]+)/gi;
const MODULE_IMPORT = /\bimport\s*(?:[^'"]*?from\s*)?["']((?:https?:)?\/\/[^"']+)["']/g;
const JS_REMOTE_SRC = /\bsrc\s*[:=]\s*["']((?:https?:)?\/\/[^"']+)["']/g;
const WEB_FONTS = /fonts\.googleapis\.com|fonts\.gstatic\.com/g;

/** The contents of every `<tag>…</tag>` element (inline scripts and styles). */
function elementBodies(html: string, tag: 'script' | 'style'): string[] {
  return [...html.matchAll(new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)</${tag}>`, 'gi'))].map((m) => m[1] ?? '');
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Lists every external resource reference in a built site (empty when the site is self-contained).
 *
 * @example
 * const findings = await findExternalResources('docs-dist');
 * if (findings.length > 0) throw new Error(findings.join('\n'));
 */
export async function findExternalResources(siteDir: string): Promise<string[]> {
  const findings: string[] = [];
  for (const file of await listFiles(siteDir)) {
    const name = relative(siteDir, file);
    if (!/\.(html|css|js)$/.test(name)) continue;
    const text = await readFile(file, 'utf8');
    const css = name.endsWith('.css') ? [text] : name.endsWith('.html') ? elementBodies(text, 'style') : [];
    if (name.endsWith('.html')) {
      for (const m of text.matchAll(EXTERNAL_ATTR)) findings.push(`${name}: <${m[1]} ${m[2]}="${m[3]}">`);
      for (const script of elementBodies(text, 'script')) {
        for (const m of script.matchAll(MODULE_IMPORT)) findings.push(`${name}: import from ${m[1]}`);
      }
    }
    for (const block of css) {
      for (const m of block.matchAll(EXTERNAL_CSS)) findings.push(`${name}: CSS ${m[2]}`);
    }
    if (name.endsWith('.js')) {
      for (const m of text.matchAll(JS_REMOTE_SRC)) findings.push(`${name}: script sets src to ${m[1]}`);
    }
    for (const m of text.matchAll(WEB_FONTS)) findings.push(`${name}: web font host ${m[0]}`);
  }
  return findings;
}
