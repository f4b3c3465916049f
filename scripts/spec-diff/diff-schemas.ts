/**
 * Compares two JSON Schemas (OpenAPI 3.1 = JSON Schema 2020-12, the subset the Pluct specs use) in one
 * direction. A request schema may only accept more than before; a response schema may only promise more
 * (never send something a client was not told to expect, never drop what it was told to rely on).
 */
import type { Finding, Severity } from './findings.js';
import { deref, isObject, textOf, type Json, type JsonObject } from './json-ref.js';

export type Direction = 'request' | 'response';

export interface SchemaDiffContext {
  oldDoc: unknown;
  newDoc: unknown;
  direction: Direction;
  /** The operation label every finding carries. */
  operation: string;
  report: (finding: Finding) => void;
}

const UPPER_BOUNDS = ['maxLength', 'maximum', 'exclusiveMaximum', 'maxItems', 'maxProperties'] as const;
const LOWER_BOUNDS = ['minLength', 'minimum', 'exclusiveMinimum', 'minItems', 'minProperties'] as const;
const EXACT = ['pattern', 'format', 'multipleOf'] as const;

/**
 * Reports every difference between `oldSchema` and `newSchema` that matters to a client, as findings.
 *
 * @example
 * diffSchemas(oldBody, newBody, '#/paths/~1v1~1vend-token/post/requestBody', { oldDoc, newDoc, direction: 'request',
 *   operation: 'POST /v1/vend-token (vendToken) request body', report: (f) => findings.push(f) });
 */
export function diffSchemas(oldSchema: unknown, newSchema: unknown, at: string, ctx: SchemaDiffContext): void {
  walk(oldSchema, newSchema, at, ctx, new Set());
}

function walk(oldRaw: unknown, newRaw: unknown, at: string, ctx: SchemaDiffContext, seen: Set<string>): void {
  const o = deref(ctx.oldDoc, oldRaw, at);
  const n = deref(ctx.newDoc, newRaw, at);
  if (!o.node || !n.node) return;
  const visit = `${o.pointer}|${n.pointer}`;
  if (seen.has(visit)) return;
  const nextSeen = new Set(seen).add(visit);
  const oldS = mergeAllOf(ctx.oldDoc, o.node, o.pointer);
  const newS = mergeAllOf(ctx.newDoc, n.node, n.pointer);
  const where = n.pointer;
  const req = ctx.direction === 'request';
  const emit = (severity: Severity, rule: string, message: string) =>
    ctx.report({ severity, rule: `${ctx.direction}-${rule}`, message, operations: [ctx.operation], pointer: where });

  compareTypes(typesOf(oldS), typesOf(newS), req, emit);
  compareEnums(enumOf(oldS), enumOf(newS), req, emit);
  compareConstraints(oldS, newS, req, emit);
  compareProperties(oldS, newS, where, ctx, nextSeen, emit);

  if (newS['items'] !== undefined && oldS['items'] !== undefined)
    walk(oldS['items'], newS['items'], `${where}/items`, ctx, nextSeen);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const oldAlts = Array.isArray(oldS[key]) ? oldS[key] : [];
    const newAlts = Array.isArray(newS[key]) ? newS[key] : [];
    if (req && newAlts.length < oldAlts.length)
      emit('breaking', `${key}-narrowed`, `${key} lost alternatives (${oldAlts.length} -> ${newAlts.length})`);
    if (!req && newAlts.length > oldAlts.length)
      emit('breaking', `${key}-widened`, `${key} gained alternatives (${oldAlts.length} -> ${newAlts.length})`);
    oldAlts.slice(0, newAlts.length).forEach((alt, i) => walk(alt, newAlts[i], `${where}/${key}/${i}`, ctx, nextSeen));
  }
}

type Emit = (severity: Severity, rule: string, message: string) => void;

/** Flattens `allOf` into one schema: properties and required are unioned, other keywords taken once. */
function mergeAllOf(doc: unknown, schema: JsonObject, at: string): JsonObject {
  if (!Array.isArray(schema['allOf'])) return schema;
  const { allOf, ...rest } = schema;
  const merged: JsonObject = { ...rest };
  const properties: JsonObject = isObject(rest['properties']) ? { ...rest['properties'] } : {};
  const required = new Set<string>(Array.isArray(rest['required']) ? (rest['required'] as string[]) : []);
  allOf.forEach((part, i) => {
    const resolved = deref(doc, part, `${at}/allOf/${i}`);
    if (!resolved.node) return;
    const sub = mergeAllOf(doc, resolved.node, resolved.pointer);
    if (isObject(sub['properties'])) Object.assign(properties, sub['properties']);
    if (Array.isArray(sub['required'])) for (const r of sub['required']) required.add(textOf(r));
    for (const [key, value] of Object.entries(sub))
      if (!(key in merged) && key !== 'properties' && key !== 'required') merged[key] = value;
  });
  if (Object.keys(properties).length > 0) merged['properties'] = properties;
  if (required.size > 0) merged['required'] = [...required];
  return merged;
}

function typesOf(schema: JsonObject): Set<string> | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type.map(String));
  return undefined;
}

function accepts(types: Set<string>, type: string): boolean {
  return types.has(type) || (type === 'integer' && types.has('number'));
}

function compareTypes(oldT: Set<string> | undefined, newT: Set<string> | undefined, req: boolean, emit: Emit): void {
  const show = (t: Set<string> | undefined) => (t ? [...t].join('|') : 'any');
  // The side that must not grow: what the server accepts (request) is `old`, what it sends (response) is `new`.
  const [narrow, wide] = req ? [newT, oldT] : [oldT, newT];
  if (!narrow) return;
  const escaping = wide ? [...wide].filter((t) => !accepts(narrow, t)) : ['any type'];
  if (escaping.length === 0) return;
  if (req)
    emit(
      'breaking',
      'type-narrowed',
      `type narrowed from ${show(oldT)} to ${show(newT)}: ${escaping.join(', ')} no longer accepted`,
    );
  else
    emit(
      'breaking',
      'type-changed',
      `type changed from ${show(oldT)} to ${show(newT)}: may now be ${escaping.join(', ')}`,
    );
}

function enumOf(schema: JsonObject): Json[] | undefined {
  if (Array.isArray(schema['enum'])) return schema['enum'];
  if ('const' in schema) return [schema['const']];
  return undefined;
}

function compareEnums(oldE: Json[] | undefined, newE: Json[] | undefined, req: boolean, emit: Emit): void {
  const key = (v: Json) => JSON.stringify(v);
  if (!oldE && newE) {
    if (req) emit('breaking', 'enum-added', `now restricted to ${newE.map(key).join(', ')}`);
    return;
  }
  if (oldE && !newE) {
    if (!req) emit('warning', 'enum-dropped', `no longer restricted to ${oldE.map(key).join(', ')}`);
    return;
  }
  if (!oldE || !newE) return;
  const newKeys = new Set(newE.map(key));
  const oldKeys = new Set(oldE.map(key));
  const removed = oldE.map(key).filter((v) => !newKeys.has(v));
  const added = newE.map(key).filter((v) => !oldKeys.has(v));
  for (const v of removed) emit('breaking', 'enum-value-removed', `enum value ${v} was removed`);
  for (const v of added) emit(req ? 'info' : 'warning', 'enum-value-added', `enum value ${v} was added`);
}

/** Whether `next` accepts fewer values than `prev` for one keyword. */
function tighter(keyword: string, prev: Json | undefined, next: Json | undefined): boolean {
  if (next === undefined) return false;
  if (prev === undefined) return true;
  if ((UPPER_BOUNDS as readonly string[]).includes(keyword)) return Number(next) < Number(prev);
  if ((LOWER_BOUNDS as readonly string[]).includes(keyword)) return Number(next) > Number(prev);
  return JSON.stringify(prev) !== JSON.stringify(next);
}

function compareConstraints(oldS: JsonObject, newS: JsonObject, req: boolean, emit: Emit): void {
  const show = (v: Json | undefined) => (v === undefined ? 'none' : JSON.stringify(v));
  for (const keyword of [...UPPER_BOUNDS, ...LOWER_BOUNDS, ...EXACT]) {
    const prev = oldS[keyword];
    const next = newS[keyword];
    if (req && tighter(keyword, prev, next)) {
      emit('breaking', 'constraint-tightened', `${keyword} tightened (${show(prev)} -> ${show(next)})`);
    } else if (!req && tighter(keyword, next, prev)) {
      emit(
        'warning',
        'constraint-loosened',
        `${keyword} loosened (${show(prev)} -> ${show(next)}): clients may see values they were told not to expect`,
      );
    }
  }
  if (req && newS['uniqueItems'] === true && oldS['uniqueItems'] !== true)
    emit('breaking', 'constraint-tightened', 'uniqueItems added');
}

function compareProperties(
  oldS: JsonObject,
  newS: JsonObject,
  where: string,
  ctx: SchemaDiffContext,
  seen: Set<string>,
  emit: Emit,
): void {
  const req = ctx.direction === 'request';
  const oldProps = isObject(oldS['properties']) ? oldS['properties'] : {};
  const newProps = isObject(newS['properties']) ? newS['properties'] : {};
  const oldReq = new Set(Array.isArray(oldS['required']) ? oldS['required'].map(String) : []);
  const newReq = new Set(Array.isArray(newS['required']) ? newS['required'].map(String) : []);
  const closed = newS['additionalProperties'] === false;

  for (const name of Object.keys(oldProps)) {
    if (name in newProps) {
      walk(oldProps[name], newProps[name], `${where}/properties/${name}`, ctx, seen);
    } else if (!req) {
      emit('breaking', 'property-removed', `property '${name}' was removed`);
    } else {
      emit(
        closed ? 'breaking' : 'warning',
        'property-removed',
        `property '${name}' was removed${closed ? ' and is now rejected (additionalProperties: false)' : ''}`,
      );
    }
  }
  for (const name of Object.keys(newProps)) {
    if (!(name in oldProps) && !(req && newReq.has(name)))
      emit('info', 'property-added', `property '${name}' was added`);
  }
  if (req) {
    for (const name of newReq)
      if (!oldReq.has(name)) emit('breaking', 'property-required', `property '${name}' is now required`);
    if (closed && oldS['additionalProperties'] !== false)
      emit('breaking', 'additional-properties-closed', 'extra properties are now rejected');
  } else {
    for (const name of oldReq)
      if (!newReq.has(name) && name in newProps)
        emit('breaking', 'property-optional', `property '${name}' is no longer always present`);
    if (oldS['additionalProperties'] === false && newS['additionalProperties'] !== false)
      emit('warning', 'additional-properties-opened', 'may now carry extra properties');
  }
  if (isObject(oldS['additionalProperties']) && isObject(newS['additionalProperties'])) {
    walk(oldS['additionalProperties'], newS['additionalProperties'], `${where}/additionalProperties`, ctx, seen);
  }
}
