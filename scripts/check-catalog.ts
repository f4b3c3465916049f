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
import { z } from 'zod';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Reads a YAML file of the repo and checks the parts this script uses against `schema` (fails loudly if not). */
const readYaml = <T>(path: string, schema: z.ZodType<T>): T =>
  schema.parse(parse(readFileSync(join(root, path), 'utf8')));

const codesObject = z.record(z.string(), z.unknown());
const catalog = readYaml('spec/shared/errors.yaml', z.object({ problems: codesObject, jobFailures: codesObject }));
const codeEnum = z.object({ enum: z.array(z.string()) });
const codeEnums = readYaml('spec/shared/error-codes.yaml', z.object({ ErrorCode: codeEnum, JobFailureCode: codeEnum }));
const apis = Object.keys(readYaml('redocly.yaml', z.object({ apis: z.record(z.string(), z.unknown()) })).apis);
const problems: string[] = [];

function sameSet(name: string, listed: string[], expected: string[]): void {
  const missing = expected.filter((c) => !listed.includes(c));
  const extra = listed.filter((c) => !expected.includes(c));
  if (missing.length > 0) problems.push(`${name} lacks catalog codes: ${missing.join(', ')}`);
  if (extra.length > 0) problems.push(`${name} lists codes not in the catalog: ${extra.join(', ')}`);
}

sameSet('spec/shared/error-codes.yaml ErrorCode', codeEnums.ErrorCode.enum, Object.keys(catalog.problems));
sameSet('spec/shared/error-codes.yaml JobFailureCode', codeEnums.JobFailureCode.enum, Object.keys(catalog.jobFailures));

/** A JSON node seen as an object (its fields unknown), or undefined for anything else. */
const asObject = (node: unknown): Record<string, unknown> | undefined =>
  typeof node === 'object' && node !== null ? (node as Record<string, unknown>) : undefined;

const used = new Set<string>();
for (const api of apis) {
  const bundled: unknown = JSON.parse(readFileSync(join(root, 'generated', api, 'openapi.json'), 'utf8'));
  const at = (node: unknown, ...keys: string[]): unknown => keys.reduce((n, k) => asObject(n)?.[k], node);
  const resolveRef = (node: unknown): unknown => {
    const ref = asObject(node)?.['$ref'];
    return typeof ref === 'string' ? resolveRef(at(bundled, ...ref.slice(2).split('/'))) : node;
  };
  for (const response of Object.values(asObject(at(bundled, 'components', 'responses')) ?? {})) {
    const examples = asObject(at(response, 'content', 'application/problem+json', 'examples')) ?? {};
    for (const example of Object.values(examples)) {
      const code = at(resolveRef(example), 'value', 'code');
      if (typeof code === 'string' && code) used.add(code);
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
