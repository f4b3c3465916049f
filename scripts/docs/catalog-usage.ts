/**
 * Finds, in the bundled specs (generated/<api>/openapi.json), which operations can return each error-catalog
 * code: every response example that is a `$ref` to `#/components/examples/<name>` (or an inline example whose
 * value carries a `code`) under an error status counts. The error catalog page lists these per code.
 */

/** One operation of one API that can answer with a given code. */
export interface CodeUsage {
  /** API name as in redocly.yaml, e.g. `business-engine`. */
  api: string;
  /** The API's `info.title`, e.g. `Business Engine`. */
  apiTitle: string;
  /** Upper-case HTTP method. */
  method: string;
  path: string;
  operationId: string | undefined;
  summary: string | undefined;
  /** The response status the example stands under, e.g. `401`. */
  status: string;
}

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows a local `$ref` (`#/components/...`) inside the bundled document; other values pass through. */
function deref(doc: Json, value: unknown): unknown {
  let current = value;
  for (let hops = 0; isObject(current) && typeof current.$ref === 'string' && hops < 10; hops++) {
    const ref: string = current.$ref;
    if (!ref.startsWith('#/')) return current;
    current = ref
      .slice(2)
      .split('/')
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), doc);
  }
  return current;
}

/** The catalog code an example stands for: its value's `code`, else the name of the component it refers to. */
function exampleCode(doc: Json, example: unknown): string | undefined {
  const resolved = deref(doc, example);
  if (isObject(resolved) && isObject(resolved.value) && typeof resolved.value.code === 'string') {
    return resolved.value.code;
  }
  if (isObject(example) && typeof example.$ref === 'string') return example.$ref.split('/').pop();
  return undefined;
}

/**
 * Maps each catalog code to the operations (of one bundled spec) that declare it in an error response.
 *
 * @example
 * const usage = collectCodeUsage('business-engine', bundled);
 * usage.get('token_expired') // [{ api: 'business-engine', method: 'GET', path: '/v1/credits/balance', ... }]
 */
export function collectCodeUsage(api: string, doc: Json): Map<string, CodeUsage[]> {
  const usage = new Map<string, CodeUsage[]>();
  const paths = isObject(doc.paths) ? doc.paths : {};
  const apiTitle = isObject(doc.info) && typeof doc.info.title === 'string' ? doc.info.title : api;
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = deref(doc, rawItem);
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op) || !isObject(op.responses)) continue;
      for (const [status, rawResponse] of Object.entries(op.responses)) {
        if (!/^[45]/.test(status)) continue;
        const response = deref(doc, rawResponse);
        const content = isObject(response) && isObject(response.content) ? response.content : {};
        const codes = new Set<string>();
        for (const media of Object.values(content)) {
          if (!isObject(media) || !isObject(media.examples)) continue;
          for (const example of Object.values(media.examples)) {
            const code = exampleCode(doc, example);
            if (code) codes.add(code);
          }
        }
        for (const code of codes) {
          const list = usage.get(code) ?? [];
          list.push({
            api,
            apiTitle,
            method: method.toUpperCase(),
            path,
            operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
            summary: typeof op.summary === 'string' ? op.summary : undefined,
            status,
          });
          usage.set(code, list);
        }
      }
    }
  }
  return usage;
}

/** Merges per-API usage maps into one. */
export function mergeCodeUsage(maps: Iterable<Map<string, CodeUsage[]>>): Map<string, CodeUsage[]> {
  const merged = new Map<string, CodeUsage[]>();
  for (const map of maps) {
    for (const [code, list] of map) merged.set(code, [...(merged.get(code) ?? []), ...list]);
  }
  return merged;
}
