/**
 * Fails when generated/ differs from what `npm run generate` would write now (spec changed without
 * regenerating, or generated/ was edited by hand). Regenerates into a temporary folder and compares;
 * also checks spec/shared/error-codes.yaml against the catalog.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { generate } from './generate.js';
import { ERROR_CODES_SPEC, renderErrorCodesSpec, type Catalog } from './generate-templates.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const generatedDir = join(root, 'generated');

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
  const catalog = parse(readFileSync(join(root, 'spec/shared/errors.yaml'), 'utf8')) as Catalog;
  let codes = '';
  try {
    codes = readFileSync(join(root, ERROR_CODES_SPEC), 'utf8');
  } catch {
    // a missing file is reported below like a stale one
  }
  if (codes !== renderErrorCodesSpec(catalog)) problems.push(`differs: ${ERROR_CODES_SPEC} (the catalog's codes)`);
  if (problems.length > 0) {
    console.error(
      `generated/ is out of date:\n  ${problems.join('\n  ')}\nRun \`npm run generate\` and commit the result.`,
    );
    process.exitCode = 1;
  } else {
    console.log(`generated/ is up to date (${expected.size} files).`);
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
