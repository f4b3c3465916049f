/**
 * Fails when generated/ differs from what `npm run generate` would write now (spec changed without
 * regenerating, or generated/ was edited by hand). Regenerates into a temporary folder and compares.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';

const generatedDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'generated');

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

const fresh = mkdtempSync(join(tmpdir(), 'pluct-generated-'));
try {
  await generate(fresh);
  const expected = new Set(listFiles(fresh).map((f) => relative(fresh, f)));
  const actual = new Set(listFiles(generatedDir).map((f) => relative(generatedDir, f)));
  const problems: string[] = [];
  for (const file of expected) {
    if (!actual.has(file)) problems.push(`missing: generated/${file}`);
    else if (!readFileSync(join(fresh, file)).equals(readFileSync(join(generatedDir, file)))) {
      problems.push(`differs: generated/${file}`);
    }
  }
  for (const file of actual) if (!expected.has(file)) problems.push(`not produced by the generator: generated/${file}`);
  if (problems.length > 0) {
    console.error(`generated/ is out of date:\n  ${problems.join('\n  ')}\nRun \`npm run generate\` and commit the result.`);
    process.exitCode = 1;
  } else {
    console.log(`generated/ is up to date (${expected.size} files).`);
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
