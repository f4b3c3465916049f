/**
 * The breaking-change gate (`npm run check:breaking`): compares every API's bundled spec
 * (generated/<api>/openapi.json, kept in step with spec/ by `npm run check:generated`) with
 *   - its committed baseline spec/baseline/<api>.json, and
 *   - the same file at the previous commit (HEAD~1), when the history has one,
 * and fails on a breaking change (removed operation, status, header, property or error code; narrowed type;
 * new required input; tightened request constraint; changed security) unless info.version's major was bumped.
 * A bumped major also requires refreshing the baseline (`npm run spec:baseline`), so the next change is
 * checked against the new major.
 *
 * Usage:
 *   tsx scripts/spec-diff.ts                          baseline and HEAD~1 (the CI gate)
 *   tsx scripts/spec-diff.ts --base REV               against a git revision only (e.g. origin/main)
 *   tsx scripts/spec-diff.ts --base-file OLD.json --api NAME   against a file
 *   tsx scripts/spec-diff.ts --write-baseline [--force]        npm run spec:baseline
 *   add --verbose to list non-breaking changes too.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { diffDocuments } from './spec-diff/diff-documents.js';
import { formatFindings, majorOf, type Finding } from './spec-diff/findings.js';
import { textOf, type JsonObject } from './spec-diff/json-ref.js';
import { listApis, readAtRevision, readWorkingTree, revisionExists } from './spec-diff/load-specs.js';

export interface Comparison {
  api: string;
  /** What the spec was compared with, e.g. `spec/baseline/tttranscribe.json` or `HEAD~1`. */
  against: string;
  oldVersion: string;
  newVersion: string;
  findings: Finding[];
  breaking: Finding[];
  /** False when the gate fails for this comparison. */
  ok: boolean;
  notes: string[];
}

const versionOf = (doc: JsonObject | undefined) =>
  textOf((doc?.['info'] as { version?: unknown } | undefined)?.version ?? 'none');

/**
 * Compares one API's old and new document and decides whether the change may land.
 *
 * @example
 * const c = compareSpecs('tttranscribe', 'HEAD~1', oldDoc, newDoc);
 * if (!c.ok) console.log(renderComparison(c).join('\n'));
 */
export function compareSpecs(
  api: string,
  against: string,
  oldDoc: JsonObject | undefined,
  newDoc: JsonObject | undefined,
  options: { requireBaselineMajor?: boolean } = {},
): Comparison {
  const base = { api, against, oldVersion: versionOf(oldDoc), newVersion: versionOf(newDoc) };
  if (!oldDoc) return { ...base, findings: [], breaking: [], ok: true, notes: ['new API: nothing to compare'] };
  if (!newDoc) {
    const removed: Finding = {
      severity: 'breaking',
      rule: 'api-removed',
      message: `the ${api} API was removed`,
      operations: [],
      pointer: '#',
    };
    return { ...base, findings: [removed], breaking: [removed], ok: false, notes: [] };
  }
  const findings = diffDocuments(oldDoc, newDoc);
  const breaking = findings.filter((f) => f.severity === 'breaking');
  const oldMajor = majorOf(base.oldVersion);
  const newMajor = majorOf(base.newVersion);
  const bumped = newMajor > oldMajor;
  const notes: string[] = [];
  let ok = breaking.length === 0 || bumped;
  if (newMajor < oldMajor) {
    ok = false;
    notes.push(`info.version went down from ${base.oldVersion} to ${base.newVersion}`);
  } else if (breaking.length > 0 && bumped) {
    notes.push(`allowed: info.version major was bumped (${base.oldVersion} -> ${base.newVersion})`);
  } else if (breaking.length > 0) {
    notes.push(
      `bump info.version to ${Number.isNaN(oldMajor) ? '<major+1>' : `${oldMajor + 1}.0.0`} in spec/${api}/openapi.yaml if these changes are intended, or revert them`,
    );
  }
  if (bumped && options.requireBaselineMajor) {
    ok = false;
    notes.push(
      `the baseline is at ${base.oldVersion} but the spec at ${base.newVersion}: run \`npm run spec:baseline\` and commit spec/baseline/${api}.json`,
    );
  }
  return { ...base, findings, breaking, ok, notes };
}

/** The report of one comparison: a header line, the findings (breaking and warnings; all with `verbose`) and notes. */
export function renderComparison(c: Comparison, options: { verbose?: boolean } = {}): string[] {
  const shown = options.verbose ? c.findings : c.findings.filter((f) => f.severity !== 'info');
  const hidden = c.findings.length - shown.length;
  const head = `${c.ok ? 'ok  ' : 'FAIL'} ${c.api} ${c.oldVersion} -> ${c.newVersion} (against ${c.against}): ${c.breaking.length} breaking, ${c.findings.length - c.breaking.length} other change(s)`;
  return [
    head,
    ...formatFindings(shown).map((l) => `  ${l}`),
    ...(hidden > 0 ? [`  (${hidden} non-breaking additions not shown; --verbose lists them)`] : []),
    ...c.notes.map((n) => `  -> ${n}`),
  ];
}

/**
 * Runs the CLI; returns the exit code (0 pass, 1 breaking change or refused baseline, 2 usage error).
 *
 * @example
 * process.exitCode = runSpecDiff(process.argv.slice(2), repoRoot, console.log);
 */
export function runSpecDiff(argv: string[], root: string, print: (line: string) => void): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      base: { type: 'string' },
      'base-file': { type: 'string' },
      api: { type: 'string' },
      'write-baseline': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
    },
  });
  const apis = listApis(root).filter((a) => !values.api || a.name === values.api);
  if (apis.length === 0) {
    print(`unknown API ${values.api ?? ''}`);
    return 2;
  }
  if (values['base-file'] && !values.api) {
    print('--base-file needs --api NAME');
    return 2;
  }
  if (values['write-baseline']) return writeBaselines(root, apis, values.force, print);

  const comparisons: Comparison[] = [];
  for (const api of apis) {
    const current = readWorkingTree(root, api.bundled);
    if (values['base-file']) {
      comparisons.push(
        compareSpecs(api.name, values['base-file'], readWorkingTree(process.cwd(), values['base-file']), current),
      );
      continue;
    }
    if (values.base) {
      if (!revisionExists(root, values.base)) {
        print(`git revision ${values.base} does not exist here`);
        return 2;
      }
      comparisons.push(compareSpecs(api.name, values.base, readAtRevision(root, values.base, api.bundled), current));
      continue;
    }
    const baseline = readWorkingTree(root, api.baseline);
    if (baseline)
      comparisons.push(compareSpecs(api.name, api.baseline, baseline, current, { requireBaselineMajor: true }));
    else print(`note: ${api.baseline} does not exist; \`npm run spec:baseline\` creates it`);
    if (revisionExists(root, 'HEAD~1'))
      comparisons.push(compareSpecs(api.name, 'HEAD~1', readAtRevision(root, 'HEAD~1', api.bundled), current));
    else
      print(
        `note: no previous commit here (first commit or shallow clone): ${api.name} is checked against its baseline only`,
      );
  }
  for (const c of comparisons) for (const line of renderComparison(c, { verbose: values.verbose })) print(line);
  const failed = comparisons.filter((c) => !c.ok);
  print(
    failed.length === 0
      ? `check:breaking: ${comparisons.length} comparison(s), no unannounced breaking change`
      : `check:breaking: ${failed.length} comparison(s) failed`,
  );
  return failed.length === 0 ? 0 : 1;
}

function writeBaselines(
  root: string,
  apis: ReturnType<typeof listApis>,
  force: boolean,
  print: (line: string) => void,
): number {
  let refused = 0;
  for (const api of apis) {
    const current = readWorkingTree(root, api.bundled);
    if (!current) {
      print(`${api.bundled} does not exist: run \`npm run generate\` first`);
      refused++;
      continue;
    }
    const previous = readWorkingTree(root, api.baseline);
    const c = compareSpecs(api.name, api.baseline, previous, current);
    if (!c.ok && !force) {
      for (const line of renderComparison(c)) print(line);
      print(
        `refusing to update ${api.baseline}: it would hide these breaking changes (bump info.version's major, or pass --force)`,
      );
      refused++;
      continue;
    }
    mkdirSync(dirname(join(root, api.baseline)), { recursive: true });
    writeFileSync(join(root, api.baseline), `${JSON.stringify(current, null, 2)}\n`);
    print(`wrote ${api.baseline} (${c.newVersion})`);
  }
  return refused === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  process.exitCode = runSpecDiff(process.argv.slice(2), root, (line) => console.log(line));
}
