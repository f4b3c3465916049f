import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Makes sure the docs site exists: builds it with `npm run docs` when docs-dist/ is missing and the script exists.
 * Never fails the stack: without docs it says why.
 *
 * @example
 * const docs = ensureDocs(root, docsDir, { build: true, log: console.log });
 */
export function ensureDocs(
  root: string,
  docsDir: string,
  options: { build: boolean; log: (line: string) => void },
): { served: boolean; note?: string } {
  if (existsSync(join(docsDir, 'index.html'))) return { served: true };
  if (!options.build) return { served: false, note: 'docs-dist/ is missing and PLUCT_BUILD_DOCS=0; run npm run docs' };
  const scripts =
    (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ??
    {};
  if (!scripts['docs']) return { served: false, note: 'docs-dist/ is missing and there is no "docs" script yet' };
  options.log('Building the docs site (npm run docs) because docs-dist/ is missing...');
  const npmCli = process.env['npm_execpath'];
  const result = npmCli
    ? spawnSync(process.execPath, [npmCli, 'run', 'docs'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'docs'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status === 0 && existsSync(join(docsDir, 'index.html'))) return { served: true };
  const why = result.error ? result.error.message : `npm run docs exited with ${result.status ?? result.signal}`;
  options.log(`The docs site could not be built (${why}); starting without it.`);
  return { served: false, note: `building it failed: ${why}` };
}
