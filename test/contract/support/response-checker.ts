/**
 * An independent (ajv, JSON Schema 2020-12) check of one HTTP response against a bundled OpenAPI 3.1 spec:
 * it finds the operation, the declared status and the media type, validates the body and the declared
 * headers, and for problem+json bodies checks the error catalog (code, status, listed for this response); a
 * `text/plain; version=0.0.4` body must be valid Prometheus text exposition.
 * Each violation names the operationId and the JSON pointer of the failing field.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { errorCatalog, isErrorCode } from '../../../generated/errors.js';
import { createOperationMatcher, type OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { parsePrometheusText } from './prometheus-text.js';

/** One thing wrong with a response. */
export interface Violation {
  /** The operationId, or `(no operation)` for a request that matched none. */
  operationId: string;
  /** A JSON pointer into the response: `/body/balance`, `/headers/x-request-id`, `/status`. */
  pointer: string;
  message: string;
}

/** A response as seen on the wire. */
export interface ObservedResponse {
  method: string;
  /** The request path without query string, e.g. `/ttt/status/job_1`. */
  path: string;
  status: number;
  headers: Headers;
  /** The body text ('' when empty). */
  body: string;
}

type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Builds a checker for one bundled spec.
 *
 * @example
 * const check = createResponseChecker(spec);
 * const violations = check({ method: 'GET', path: '/health', status: 200, headers: res.headers, body: await res.text() });
 * expect(violations).toEqual([]);
 */
export function createResponseChecker(spec: OpenApiDocument): (response: ObservedResponse) => Violation[] {
  const id = `https://pluct.test/${encodeURIComponent(String(asObject(spec['info'])['title']))}/openapi.json`;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  ajv.addSchema({ ...structuredClone(spec), $id: id });
  const compiled = new Map<string, ValidateFunction>();
  const validatorAt = (pointer: string): ValidateFunction => {
    let fn = compiled.get(pointer);
    if (!fn) {
      fn = ajv.compile({ $ref: `${id}#${pointer}` });
      compiled.set(pointer, fn);
    }
    return fn;
  };
  const match = createOperationMatcher(spec);
  const resolve = (node: unknown): { node: Json; pointer?: string } => {
    const ref = asObject(node)['$ref'];
    if (typeof ref !== 'string') return { node: asObject(node) };
    let target: unknown = spec;
    for (const part of ref.slice(2).split('/')) target = asObject(target)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    return { node: asObject(target), pointer: ref.slice(1) };
  };
  const problemPointer = '/components/schemas/Problem';

  return (response) => {
    const found = match(response.method, response.path);
    const operationId = found.kind === 'operation' ? found.operation.operationId : '(no operation)';
    const violations: Violation[] = [];
    const fail = (pointer: string, message: string) => violations.push({ operationId, pointer, message });
    const contentType = response.headers.get('content-type') ?? '';
    const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
    // A text/* body is a string to its schema; anything else must be JSON (or empty).
    const isText = mediaType.startsWith('text/');
    let body: unknown = isText ? response.body : undefined;
    if (response.body !== '' && !isText) {
      try {
        body = JSON.parse(response.body);
      } catch {
        fail('/body', `is not JSON (content-type ${mediaType || 'none'})`);
        return violations;
      }
    }
    const validate = (pointer: string, value: unknown, at: string) => {
      const fn = validatorAt(pointer);
      if (fn(value)) return;
      for (const e of fn.errors ?? []) {
        const missing = e.keyword === 'required' ? `/${escape(String((e.params as Json)['missingProperty']))}` : '';
        fail(`${at}${e.instancePath}${missing}`, describe(e));
      }
    };

    // 431 is answered before routing (server/shared/http/client-errors.ts), whatever the path: the spec documents
    // it once, as components/responses/RequestHeaderTooLarge, like 404 and 405.
    if (found.kind !== 'operation' || response.status === 431) {
      const expected =
        response.status === 431
          ? 'request_header_too_large'
          : found.kind === 'not_found'
            ? 'not_found'
            : 'method_not_allowed';
      if (mediaType !== 'application/problem+json')
        fail('/headers/content-type', `must be application/problem+json, got ${mediaType || 'none'}`);
      validate(problemPointer, body, '/body');
      if (asObject(body)['code'] !== expected)
        fail(
          '/body/code',
          `must be ${expected} for ${response.status === 431 ? 'a 431' : 'a request that matches no operation'}`,
        );
      // components/responses/MethodNotAllowed requires Allow (RFC 9110 15.5.6: every 405 lists the methods).
      if (expected === 'method_not_allowed' && !response.headers.get('allow')) fail('/headers/allow', 'is required');
      return violations;
    }

    const { pathTemplate, method } = found.operation;
    const opPointer = `/paths/${escape(pathTemplate)}/${method.toLowerCase() === 'head' ? 'get' : method.toLowerCase()}`;
    const responses = asObject(asObject(resolve(readAt(spec, opPointer)).node)['responses']);
    const status = String(response.status);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => k in responses);
    if (!key) {
      fail('/status', `status ${status} is not declared (declared: ${Object.keys(responses).join(', ')})`);
      if (mediaType === 'application/problem+json') validate(problemPointer, body, '/body');
      return violations;
    }
    const declared = resolve(responses[key]);
    const declaredPointer = declared.pointer ?? `${opPointer}/responses/${key}`;
    for (const [name, raw] of Object.entries(asObject(declared.node['headers']))) {
      const header = resolve(raw);
      const value = response.headers.get(name);
      const headerPointer = `${header.pointer ?? `${declaredPointer}/headers/${escape(name)}`}/schema`;
      if (value === null) {
        if (header.node['required'] === true) fail(`/headers/${name.toLowerCase()}`, 'is required');
        continue;
      }
      const schema = asObject(header.node['schema']);
      const typed = schema['type'] === 'integer' || schema['type'] === 'number' ? Number(value) : value;
      validate(headerPointer, typed, `/headers/${name.toLowerCase()}`);
    }
    const content = asObject(declared.node['content']);
    if (Object.keys(content).length === 0) {
      if (response.body !== '') fail('/body', 'must be empty: the response declares no content');
      return violations;
    }
    const declaredType = Object.keys(content).find((key) => mediaTypeMatches(key, contentType));
    if (declaredType === undefined) {
      fail('/headers/content-type', `must be one of ${Object.keys(content).join(', ')}, got ${contentType || 'none'}`);
      return violations;
    }
    validate(`${declaredPointer}/content/${encodeURIComponent(escape(declaredType))}/schema`, body, '/body');
    if (mediaType === 'application/problem+json')
      checkProblem(asObject(body), response.status, asObject(content[declaredType]), resolve, fail);
    if (isPrometheusText(declaredType)) {
      for (const error of parsePrometheusText(response.body).errors)
        fail('/body', `is not Prometheus text format 0.0.4: ${error}`);
    }
    return violations;
  };
}

/** Catalog rules a schema cannot express: a known code, its catalog status, and listed for this response. */
function checkProblem(
  body: Json,
  status: number,
  media: Json,
  resolve: (node: unknown) => { node: Json },
  fail: (pointer: string, message: string) => void,
): void {
  const code = body['code'];
  if (!isErrorCode(code)) return; // the schema's enum already reported it
  if (errorCatalog[code].status !== status)
    fail('/body/code', `${code} is a ${errorCatalog[code].status} in the catalog, answered with ${status}`);
  if (body['status'] !== status) fail('/body/status', `must repeat the HTTP status ${status}`);
  const listed = Object.values(asObject(media['examples'])).map((ex) => asObject(resolve(ex).node['value'])['code']);
  if (listed.length > 0 && !listed.includes(code))
    fail('/body/code', `${code} is not listed for this response (listed: ${listed.join(', ')})`);
}

/** `type/subtype` and parameters (lowercase names) of a media type such as `text/plain; version=0.0.4`. */
function parseMediaType(value: string): { type: string; params: Record<string, string> } {
  const [type = '', ...params] = value.split(';').map((part) => part.trim());
  return {
    type: type.toLowerCase(),
    params: Object.fromEntries(
      params
        .filter((p) => p.includes('='))
        .map((p) => {
          const at = p.indexOf('=');
          return [
            p.slice(0, at).trim().toLowerCase(),
            p
              .slice(at + 1)
              .trim()
              .replace(/^"(.*)"$/, '$1'),
          ];
        }),
    ),
  };
}

/**
 * Whether a response's Content-Type is the declared media type: the same type, and every parameter the spec
 * names (e.g. `version=0.0.4`) with the same value; a charset the spec does not name may be added.
 */
function mediaTypeMatches(declared: string, contentType: string): boolean {
  const want = parseMediaType(declared);
  const got = parseMediaType(contentType);
  return want.type === got.type && Object.entries(want.params).every(([name, value]) => got.params[name] === value);
}

/** The Prometheus text exposition format (what `getMetrics` declares): `text/plain; version=0.0.4`. */
function isPrometheusText(declared: string): boolean {
  const { type, params } = parseMediaType(declared);
  return type === 'text/plain' && params['version'] === '0.0.4';
}

function readAt(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const part of pointer.slice(1).split('/')) node = asObject(node)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  return node;
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties')
    return `must not have property '${String(params['additionalProperty'])}'`;
  if (error.keyword === 'required') return 'is required';
  if (error.keyword === 'enum' || error.keyword === 'const')
    return `${error.message ?? 'is invalid'}: ${JSON.stringify(params['allowedValues'] ?? params['allowedValue'])}`;
  return error.message ?? 'is invalid';
}
