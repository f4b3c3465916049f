/**
 * Local `$ref` resolution inside one bundled OpenAPI document (`#/components/...` pointers only: bundled specs
 * have no external refs).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A JSON value as message text: a string as it is, anything else as JSON (where `String()` would print
 * `[object Object]`).
 *
 * @example
 * textOf(op['operationId'] ?? '?'); // 'getBalance'
 */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

/** Escapes one JSON pointer segment (`/` -> `~1`, `~` -> `~0`). */
export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Reads a `#/a/b` pointer inside a document; undefined when any segment is missing. */
export function readPointer(doc: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#')) return undefined;
  let node: unknown = doc;
  for (const raw of pointer.slice(1).split('/').slice(1)) {
    const segment = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isObject(node)) node = node[segment];
    else return undefined;
  }
  return node;
}

/**
 * Follows `$ref` chains to the object they name, returning it with the pointer it lives at (the pointer of the
 * last ref followed, or `at` when there was none).
 *
 * @example
 * deref(doc, { $ref: '#/components/schemas/Balance' }, '#/paths/...'); // { node: {...}, pointer: '#/components/schemas/Balance' }
 */
export function deref(doc: unknown, node: unknown, at: string): { node: JsonObject | undefined; pointer: string } {
  let current = node;
  let pointer = at;
  for (let hops = 0; hops < 32 && isObject(current) && typeof current['$ref'] === 'string'; hops++) {
    pointer = current['$ref'];
    current = readPointer(doc, pointer);
  }
  return { node: isObject(current) ? current : undefined, pointer };
}
