/**
 * The guide pages: every `docs/*.md` becomes `<name>.html` (rendered with ./markdown.ts). Pages with ```mermaid
 * blocks load the local mermaid bundle; a guide may get a generated extra section (the X-Engine-Auth guide gets
 * the test vectors table). Images next to the markdown are copied as they are.
 */
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { renderMarkdown } from './markdown.js';
import type { EngineAuthVectorsFile } from '../../server/protocol/test-vectors.js';
import { renderSandboxSection } from './sandbox-section.js';
import { renderVectorsSection } from './vectors-table.js';

/** One rendered guide, not yet wrapped in the page shell. */
export interface GuidePage {
  /** File name without extension, e.g. `engine-auth`. */
  slug: string;
  fileName: string;
  title: string;
  summary: string | undefined;
  /** The page body (markdown HTML plus any generated section). */
  body: string;
  hasMermaid: boolean;
}

const COPIED_ASSETS = /\.(png|jpe?g|gif|svg|webp)$/i;

/** Generated sections appended to particular guides, keyed by slug. */
async function extraSection(root: string, slug: string): Promise<string> {
  if (slug === 'sandbox') return renderSandboxSection();
  if (slug !== 'engine-auth') return '';
  const vectorsPath = join(root, 'spec', 'shared', 'engine-auth-vectors.json');
  if (!existsSync(vectorsPath)) return '';
  const file = JSON.parse(await readFile(vectorsPath, 'utf8')) as EngineAuthVectorsFile;
  return renderVectorsSection(file);
}

/**
 * Renders every `*.md` in `docsDir` (default `<root>/docs`, sorted by name without extension) and copies images
 * from it into `outDir`.
 * `reserved` lists file names the site already uses (index.html, errors.html, ...); a clash is an error.
 *
 * @example
 * const guides = await renderGuides('/repo', '/repo/docs-dist', ['index.html', 'errors.html']);
 */
export async function renderGuides(
  root: string,
  outDir: string,
  reserved: readonly string[],
  docsDir = join(root, 'docs'),
): Promise<GuidePage[]> {
  if (!existsSync(docsDir)) return [];
  const entries = (await readdir(docsDir, { withFileTypes: true })).filter((e) => e.isFile());
  const pages: GuidePage[] = [];
  // By name without extension, so `engine-auth.md` comes before `engine-auth-vectors.md`.
  const byStem = (name: string): string => name.replace(/\.[^.]+$/, '');
  for (const entry of entries.sort((a, b) => byStem(a.name).localeCompare(byStem(b.name)))) {
    if (COPIED_ASSETS.test(entry.name)) {
      await copyFile(join(docsDir, entry.name), join(outDir, entry.name));
      continue;
    }
    if (!entry.name.endsWith('.md')) continue;
    const slug = entry.name.slice(0, -'.md'.length);
    const fileName = `${slug}.html`;
    if (reserved.includes(fileName)) {
      throw new Error(`docs/${entry.name} would overwrite the generated page ${fileName}; rename it`);
    }
    const rendered = renderMarkdown(await readFile(join(docsDir, entry.name), 'utf8'));
    pages.push({
      slug,
      fileName,
      title: rendered.title ?? slug,
      summary: rendered.summary,
      body: rendered.html + (await extraSection(root, slug)),
      hasMermaid: rendered.hasMermaid,
    });
  }
  return pages;
}
