/**
 * Cross-spec catalog rules that a per-document lint rule cannot see:
 * - the Problem schema's `ErrorCode` and `JobFailureCode` enums (spec/shared/error-codes.yaml, written by
 *   `npm run generate`) list exactly the catalog's codes;
 * - every catalog code stands as an example in some response of some API (so each is documented where it
 *   can happen and a mock can return it).
 * Run by `npm run lint:spec` after `redocly lint`; reads the bundled specs in generated/.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const readYaml = (path: string): any => parse(readFileSync(join(root, path), 'utf8'));

const catalog = readYaml('spec/shared/errors.yaml');
const codeEnums = readYaml('spec/shared/error-codes.yaml');
const apis = Object.keys(readYaml('redocly.yaml').apis as Record<string, unknown>);
const problems: string[] = [];

function sameSet(name: string, listed: string[], expected: string[]): void {
  const missing = expected.filter((c) => !listed.includes(c));
  const extra = listed.filter((c) => !expected.includes(c));
  if (missing.length > 0) problems.push(`${name} lacks catalog codes: ${missing.join(', ')}`);
  if (extra.length > 0) problems.push(`${name} lists codes not in the catalog: ${extra.join(', ')}`);
}

sameSet('spec/shared/error-codes.yaml ErrorCode', codeEnums.ErrorCode.enum, Object.keys(catalog.problems));
sameSet('spec/shared/error-codes.yaml JobFailureCode', codeEnums.JobFailureCode.enum, Object.keys(catalog.jobFailures));

const used = new Set<string>();
for (const api of apis) {
  const bundled = JSON.parse(readFileSync(join(root, 'generated', api, 'openapi.json'), 'utf8'));
  const resolveRef = (node: any): any =>
    node?.$ref
      ? resolveRef(
          node.$ref
            .slice(2)
            .split('/')
            .reduce((n: any, k: string) => n?.[k], bundled),
        )
      : node;
  for (const response of Object.values<any>(bundled.components?.responses ?? {})) {
    for (const example of Object.values<any>(response.content?.['application/problem+json']?.examples ?? {})) {
      const code = resolveRef(example)?.value?.code;
      if (code) used.add(code);
    }
  }
}
const unused = Object.keys(catalog.problems).filter((code) => !used.has(code));
if (unused.length > 0) problems.push(`catalog codes no API response carries: ${unused.join(', ')}`);

if (problems.length > 0) {
  console.error(`Catalog check failed:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log(
    `Catalog check passed: ${Object.keys(catalog.problems).length} codes, ${Object.keys(catalog.jobFailures).length} job failure codes, ${apis.length} APIs.`,
  );
}
