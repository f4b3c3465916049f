/**
 * Where the spec diff reads specs from: the working tree's bundled specs (generated/<api>/openapi.json), the
 * same files at a git revision, and the committed baselines (spec/baseline/<api>.json).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parse } from 'yaml';
import { isObject, type JsonObject } from './json-ref.js';

export interface ApiFiles {
  /** The API's name in redocly.yaml, e.g. `business-engine`. */
  name: string;
  /** The bundled spec, relative to the repo root, e.g. `generated/business-engine/openapi.json`. */
  bundled: string;
  /** The committed baseline, relative to the repo root, e.g. `spec/baseline/business-engine.json`. */
  baseline: string;
}

/**
 * The APIs redocly.yaml declares, with the paths of their bundled spec and baseline.
 *
 * @example
 * listApis('/work/main'); // [{ name: 'business-engine', bundled: 'generated/business-engine/openapi.json', ... }]
 */
export function listApis(root: string): ApiFiles[] {
  const config = parse(readFileSync(join(root, 'redocly.yaml'), 'utf8')) as {
    apis?: Record<string, { 'x-openapi-ts'?: { output?: string } }>;
  };
  return Object.entries(config.apis ?? {}).map(([name, api]) => {
    const types = api['x-openapi-ts']?.output ?? `generated/${name}/schema.d.ts`;
    return {
      name,
      bundled: relative(root, join(root, dirname(types), 'openapi.json'))
        .split('\\')
        .join('/'),
      baseline: `spec/baseline/${name}.json`,
    };
  });
}

function parseDocument(text: string, source: string): JsonObject {
  const doc: unknown = JSON.parse(text);
  if (!isObject(doc) || !isObject(doc['paths'])) throw new Error(`${source} is not an OpenAPI document`);
  return doc;
}

/** Reads a spec from the working tree; undefined when the file does not exist. */
export function readWorkingTree(root: string, path: string): JsonObject | undefined {
  const full = join(root, path);
  return existsSync(full) ? parseDocument(readFileSync(full, 'utf8'), path) : undefined;
}

/**
 * Reads a spec as it was at a git revision (read-only `git show`); undefined when the revision or the file does
 * not exist there (a first commit, a shallow clone, a new API).
 *
 * @example
 * readAtRevision(root, 'HEAD~1', 'generated/tttranscribe/openapi.json');
 */
export function readAtRevision(root: string, revision: string, path: string): JsonObject | undefined {
  try {
    const text = execFileSync('git', ['show', `${revision}:${path}`], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return parseDocument(text, `${revision}:${path}`);
  } catch {
    return undefined;
  }
}

/** Whether `root` is inside a git work tree whose revision `revision` exists. */
export function revisionExists(root: string, revision: string): boolean {
  try {
    execFileSync('git', ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`], { cwd: root, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
