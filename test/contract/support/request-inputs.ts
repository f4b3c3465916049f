/**
 * Request inputs derived from the spec alone, in the spirit of Schemathesis: valid inputs (the spec's request
 * examples and bodies from json-schema-faker, path parameters matching their patterns) and invalid ones
 * (fast-check mutations of a valid input: wrong types, missing required fields, extra properties, oversized
 * or pattern-breaking strings, out-of-range numbers, bad path parameters (malformed percent-encoding included), unknown query parameters, the wrong
 * content type, malformed or oversized bodies).
 */
import fc from 'fast-check';
import { generateSync } from 'json-schema-faker';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { resolveRef, type Json, type SpecOperation } from './spec-operations.js';

/** One HTTP request, before credentials are added. */
export interface RequestInput {
  operationId: string;
  method: string;
  /** The path with parameters filled in and percent-encoded. */
  path: string;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  /** Raw body text; undefined sends no body. */
  body?: string;
  /** `valid`, or what makes the input invalid. */
  label: string;
}

export interface InputOptions {
  /** Fixed values for path parameters (e.g. the id of a job that exists). */
  pathParams?: Record<string, fc.Arbitrary<string>>;
  /** The service's JSON body limit, for the oversized-body mutation. */
  bodyLimitBytes: number;
}

const asObject = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const JSON_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'] as const;
const SAMPLE: Record<(typeof JSON_TYPES)[number], unknown> = {
  string: 'text',
  number: 1.5,
  integer: 7,
  boolean: true,
  object: { a: 1 },
  array: [1, 'x'],
  null: null,
};

function stringFor(schema: Json): fc.Arbitrary<string> {
  if (typeof schema['pattern'] === 'string') return fc.stringMatching(new RegExp(schema['pattern']));
  const maxLength = typeof schema['maxLength'] === 'number' ? Math.min(schema['maxLength'], 64) : 32;
  return fc.string({ minLength: Number(schema['minLength'] ?? 1), maxLength });
}

function queryValue(schema: Json): fc.Arbitrary<string> {
  if (schema['type'] === 'integer') {
    return fc.integer({ min: Number(schema['minimum'] ?? -1000), max: Number(schema['maximum'] ?? 1000) }).map(String);
  }
  if (Array.isArray(schema['enum'])) return fc.constantFrom(...(schema['enum'] as unknown[]).map(String));
  return stringFor(schema);
}

function pathOf(op: SpecOperation, values: Record<string, string>): string {
  return op.pathTemplate.replace(/\{([^}]+)\}/g, (_m, name: string) => encodeURIComponent(values[name] ?? ''));
}

/**
 * Valid inputs of one operation: spec examples or generated bodies (seeded from fast-check, so a fixed seed
 * replays them), parameters from their schemas.
 *
 * @example
 * fc.assert(fc.asyncProperty(validInput(spec, op, { bodyLimitBytes: 65536 }), async (input) => { ... }), { seed: 42 });
 */
export function validInput(
  spec: OpenApiDocument,
  op: SpecOperation,
  options: InputOptions,
): fc.Arbitrary<RequestInput> {
  const pathParams: Record<string, fc.Arbitrary<string>> = {};
  for (const p of op.parameters.filter((p) => p.in === 'path'))
    pathParams[p.name] = options.pathParams?.[p.name] ?? stringFor(p.schema);
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const query = fc.tuple(
    ...queryParams.map((p) =>
      p.required
        ? queryValue(p.schema).map((v) => [p.name, v] as [string, string])
        : fc.option(
            queryValue(p.schema).map((v) => [p.name, v] as [string, string]),
            { nil: undefined },
          ),
    ),
  );
  const components = asObject(spec['components']);
  const body: fc.Arbitrary<unknown> = op.body
    ? fc.oneof(
        fc.constantFrom(...(op.body.examples.length > 0 ? op.body.examples : [{}])),
        fc
          .integer({ min: 1, max: 2 ** 31 - 1 })
          .map((seed) => generateSync({ ...op.body!.schema, components }, { seed, maxDefaultItems: 2 })),
      )
    : fc.constant(undefined);
  return fc
    .record({ params: fc.record(pathParams), query, body })
    .map(({ params, query: q, body: b }): RequestInput => ({
      operationId: op.operationId,
      method: op.method,
      path: pathOf(op, params),
      query: q.filter((entry): entry is [string, string] => entry !== undefined),
      headers: b === undefined ? {} : { 'content-type': 'application/json' },
      ...(b === undefined ? {} : { body: JSON.stringify(b) }),
      label: 'valid',
    }));
}

type Mutation = fc.Arbitrary<(input: RequestInput) => RequestInput>;
const mutation = (label: string, apply: (input: RequestInput) => Partial<RequestInput>): Mutation =>
  fc.constant((input: RequestInput) => ({ ...input, ...apply(input), label }));
const withBody = (input: RequestInput, change: (body: Json) => void): string => {
  const body = asObject(JSON.parse(input.body ?? '{}'));
  change(body);
  return JSON.stringify(body);
};

/** Mutations of a JSON body, derived from its (top-level) schema. */
function bodyMutations(spec: OpenApiDocument, op: SpecOperation, options: InputOptions): Mutation[] {
  if (!op.body) return [];
  const schema = resolveRef(spec, op.body.schema);
  const properties = Object.entries(asObject(schema['properties'])).map(
    ([name, raw]) => [name, resolveRef(spec, raw)] as const,
  );
  const mutations: Mutation[] = [
    mutation('malformed JSON body', (i) => ({ body: (i.body ?? '{}').slice(0, -1) + ',' })),
    mutation('body starts with a byte-order mark', (i) => ({ body: `\uFEFF${i.body ?? '{}'}` })),
    fc
      .constantFrom('[]', '"text"', '42', 'null', 'true')
      .chain((body) => mutation(`body is ${body}, not an object`, () => ({ body }))),
    fc
      .constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml')
      .chain((type) => mutation(`content-type ${type}`, () => ({ headers: { 'content-type': type } }))),
    mutation('body over the size limit', (i) => ({
      body: JSON.stringify({ ...asObject(JSON.parse(i.body ?? '{}')), padding: 'x'.repeat(options.bodyLimitBytes) }),
    })),
  ];
  if (op.body.required) mutations.push(mutation('no body', () => ({ body: undefined, headers: {} })));
  if (schema['additionalProperties'] === false)
    mutations.push(
      mutation('unexpected extra property', (i) => ({ body: withBody(i, (b) => (b['unexpectedField'] = 1)) })),
    );
  for (const name of (schema['required'] ?? []) as string[])
    mutations.push(
      mutation(`required property ${name} missing`, (i) => ({
        body: withBody(i, (b) => Reflect.deleteProperty(b, name)),
      })),
    );
  for (const [name, prop] of properties) {
    const allowed = new Set([prop['type']].flat().map(String));
    if (allowed.has('number')) allowed.add('integer');
    const wrong = JSON_TYPES.filter((t) => !allowed.has(t) && !(t === 'integer' && allowed.has('number')));
    if (wrong.length > 0)
      mutations.push(
        fc
          .constantFrom(...wrong)
          .chain((t) => mutation(`${name} is a ${t}`, (i) => ({ body: withBody(i, (b) => (b[name] = SAMPLE[t])) }))),
      );
    if (typeof prop['maxLength'] === 'number') {
      const max = prop['maxLength'];
      mutations.push(
        fc.integer({ min: 1, max: 64 }).chain((extra) =>
          mutation(`${name} longer than ${max}`, (i) => ({
            body: withBody(i, (b) => (b[name] = 'a'.repeat(max + extra))),
          })),
        ),
      );
    }
    if (Number(prop['minLength'] ?? 0) > 0)
      mutations.push(mutation(`${name} empty`, (i) => ({ body: withBody(i, (b) => (b[name] = '')) })));
    if (typeof prop['pattern'] === 'string') {
      const re = new RegExp(prop['pattern']);
      mutations.push(
        fc
          .constantFrom('has space', 'semi;colon', 'ünïcode', 'x'.repeat(3) + '\n')
          .filter((v) => !re.test(v))
          .chain((v) => mutation(`${name} breaks its pattern`, (i) => ({ body: withBody(i, (b) => (b[name] = v)) }))),
      );
    }
    for (const [bound, delta] of [
      ['minimum', -1],
      ['maximum', 1],
    ] as const) {
      if (typeof prop[bound] === 'number')
        mutations.push(
          mutation(`${name} beyond its ${bound}`, (i) => ({
            body: withBody(i, (b) => (b[name] = (prop[bound] as number) + delta)),
          })),
        );
    }
    if (Array.isArray(prop['enum']))
      mutations.push(
        mutation(`${name} not in its enum`, (i) => ({ body: withBody(i, (b) => (b[name] = 'not-a-listed-value')) })),
      );
  }
  return mutations;
}

/** Values that almost match a pattern: a matching value cut short, case-flipped, lengthened or with a stray character. */
function nearMisses(re: RegExp): fc.Arbitrary<string> {
  return fc
    .stringMatching(re)
    .chain((v) =>
      fc.constantFrom(
        v.slice(0, -1),
        v.slice(0, v.indexOf('_') + 1),
        v.toLowerCase(),
        v.toUpperCase(),
        `${v}${'A'.repeat(65)}`,
        `${v}$`,
        `${v} `,
        v.replace(/.$/, '-'),
      ),
    );
}

/** Mutations of path and query parameters and of the X-Request-ID header. */
function parameterMutations(op: SpecOperation): Mutation[] {
  const mutations: Mutation[] = [
    fc
      .constantFrom('unexpected', 'debug', 'userId')
      .chain((name) => mutation(`unknown query parameter ${name}`, (i) => ({ query: [...i.query, [name, '1']] }))),
    mutation('X-Request-ID longer than 512', (i) => ({ headers: { ...i.headers, 'x-request-id': 'r'.repeat(513) } })),
  ];
  for (const p of op.parameters) {
    if (p.in === 'path') {
      // Sent as is, not re-encoded: '%' without two hex digits, or escapes that decode to bytes that are not UTF-8.
      mutations.push(
        fc.constantFrom('%ff%fe', 'job_%', '%', '%zz', 'itk_%c3', '%e2%82', '%C0%AF').chain((v) =>
          mutation(`path parameter ${p.name} is malformed percent-encoding ${v}`, () => ({
            path: op.pathTemplate.replace(`{${p.name}}`, v),
          })),
        ),
      );
    }
    if (p.in === 'path' && typeof p.schema['pattern'] === 'string') {
      const re = new RegExp(p.schema['pattern']);
      mutations.push(
        fc
          .oneof(
            fc.constantFrom(
              'x',
              'job_',
              'job_short',
              'JOB_12345678',
              `job_${'a'.repeat(65)}`,
              'job_1234567$',
              'job_12345678 ',
            ),
            nearMisses(re),
          )
          .filter((v) => v !== '' && !re.test(v))
          .chain((v) =>
            mutation(`path parameter ${p.name} breaks its pattern`, () => ({
              path: op.pathTemplate.replace(`{${p.name}}`, encodeURIComponent(v)),
            })),
          ),
      );
    }
    if (p.in === 'query' && p.schema['type'] === 'integer') {
      const bad = [
        'abc',
        '1.5',
        '',
        ...(typeof p.schema['minimum'] === 'number' ? [String(p.schema['minimum'] - 1)] : []),
        ...(typeof p.schema['maximum'] === 'number' ? [String(p.schema['maximum'] + 1)] : []),
      ];
      mutations.push(
        fc.constantFrom(...bad).chain((v) =>
          mutation(`query ${p.name}=${v}`, (i) => ({
            query: [...i.query.filter(([n]) => n !== p.name), [p.name, v]],
          })),
        ),
      );
    }
    if (p.in === 'query' && typeof p.schema['maxLength'] === 'number') {
      mutations.push(
        mutation(`query ${p.name} longer than ${String(p.schema['maxLength'])}`, (i) => ({
          query: [
            ...i.query.filter(([n]) => n !== p.name),
            [p.name, 'c'.repeat((p.schema['maxLength'] as number) + 1)],
          ],
        })),
      );
    }
  }
  return mutations;
}

/**
 * Invalid inputs of one operation: one mutation applied to a valid input. `label` says which.
 *
 * @example
 * fc.assert(fc.asyncProperty(invalidInput(spec, op, { bodyLimitBytes: 65536 }), async (input) => { ... }));
 */
export function invalidInput(
  spec: OpenApiDocument,
  op: SpecOperation,
  options: InputOptions,
): fc.Arbitrary<RequestInput> {
  const mutations = [...bodyMutations(spec, op, options), ...parameterMutations(op)];
  return fc.tuple(validInput(spec, op, options), fc.oneof(...mutations)).map(([input, mutate]) => mutate(input));
}

/** The request target (path and query) exactly as it is sent: what X-Engine-Auth signs. */
export function targetOf(input: RequestInput): string {
  const query = input.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return query ? `${input.path}?${query}` : input.path;
}

/**
 * The operation's first request example (or no body), with the given path parameters: a request set up to
 * succeed, for the credential matrix.
 *
 * @example
 * exampleInput(op, { jobId: 'job_01JD0000000000000000000000' });
 */
export function exampleInput(op: SpecOperation, pathParams: Record<string, string> = {}): RequestInput {
  const body = op.body?.examples[0];
  return {
    operationId: op.operationId,
    method: op.method,
    path: pathOf(op, pathParams),
    query: [],
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    label: 'spec example',
  };
}
