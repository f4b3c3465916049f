/**
 * The operations of a bundled spec in the form the generated tests need: parameters and request body
 * (resolved), security alternatives, and the error codes each response status lists.
 */
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';

export type Json = Record<string, unknown>;

export interface SpecParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Json;
}

export interface SpecOperation {
  operationId: string;
  method: string;
  pathTemplate: string;
  parameters: SpecParameter[];
  /** The JSON request body, when the operation takes one. */
  body?: { required: boolean; schema: Json; examples: unknown[] };
  /** Security alternatives: each a list of scheme names that together satisfy it; `[]` means public. */
  security: string[][];
  /** Catalog codes listed per response status, e.g. `{ '401': ['missing_authorization', ...] }`. */
  errorCodes: Record<string, string[]>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const asObject = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});

/** Follows a local `$ref` (one or more hops). */
export function resolveRef(spec: OpenApiDocument, node: unknown): Json {
  let current = asObject(node);
  for (let i = 0; i < 16 && typeof current['$ref'] === 'string'; i++) {
    let target: unknown = spec;
    for (const part of current['$ref'].slice(2).split('/'))
      target = asObject(target)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    current = asObject(target);
  }
  return current;
}

/**
 * Every operation of a bundled spec, in spec order.
 *
 * @example
 * const ops = listSpecOperations(spec);
 * ops.find((o) => o.operationId === 'vendToken')?.security; // [['userJwt']]
 */
export function listSpecOperations(spec: OpenApiDocument): SpecOperation[] {
  const globalSecurity = (spec['security'] ?? []) as Json[];
  return Object.entries(spec.paths).flatMap(([pathTemplate, rawItem]) => {
    const item = asObject(rawItem);
    return METHODS.filter((m) => m in item).map((method) => {
      const op = asObject(item[method]);
      const parameters = [...((item['parameters'] ?? []) as unknown[]), ...((op['parameters'] ?? []) as unknown[])].map(
        (raw) => {
          const p = resolveRef(spec, raw);
          return {
            name: String(p['name']),
            in: p['in'] as SpecParameter['in'],
            required: p['required'] === true,
            schema: asObject(p['schema']),
          };
        },
      );
      const rawBody = op['requestBody'] ? resolveRef(spec, op['requestBody']) : undefined;
      const media = asObject(asObject(rawBody?.['content'])['application/json']);
      const body = rawBody
        ? {
            required: rawBody['required'] === true,
            schema: asObject(media['schema']),
            examples: Object.values(asObject(media['examples'])).map((ex) => resolveRef(spec, ex)['value']),
          }
        : undefined;
      const security = ((op['security'] ?? globalSecurity) as Json[]).map((req) => Object.keys(req));
      const errorCodes: Record<string, string[]> = {};
      for (const [status, rawResponse] of Object.entries(asObject(op['responses']))) {
        const content = asObject(resolveRef(spec, rawResponse)['content']);
        const examples = asObject(asObject(content['application/problem+json'])['examples']);
        const codes = Object.values(examples)
          .map((ex) => asObject(resolveRef(spec, ex)['value'])['code'])
          .filter((c): c is string => typeof c === 'string');
        if (codes.length > 0) errorCodes[status] = codes;
      }
      return {
        operationId: String(op['operationId']),
        method: method.toUpperCase(),
        pathTemplate,
        parameters,
        ...(body ? { body } : {}),
        security: security.length === 0 ? [[]] : security,
        errorCodes,
      };
    });
  });
}

/** Whether the operation can be called without credentials. */
export function isPublic(op: SpecOperation): boolean {
  return op.security.some((alternative) => alternative.length === 0);
}

/** Whether credentials granting these schemes satisfy one of the operation's security alternatives. */
export function satisfies(op: SpecOperation, grants: readonly string[]): boolean {
  return op.security.some((alternative) => alternative.every((scheme) => grants.includes(scheme)));
}

/** The upstream_* codes the operation declares under a 5xx: the designed failures of a proxy operation. */
export function designedUpstreamCodes(op: SpecOperation): string[] {
  return Object.entries(op.errorCodes)
    .filter(([status]) => status.startsWith('5'))
    .flatMap(([, codes]) => codes)
    .filter((code) => code.startsWith('upstream_'));
}

/**
 * The pattern of a path parameter, from the first operation that declares it (e.g. `jobId`).
 *
 * @example
 * fc.stringMatching(pathParameterPattern(ops, 'tokenId')); // itk_ ids
 */
export function pathParameterPattern(ops: readonly SpecOperation[], name: string): RegExp {
  const pattern = ops.flatMap((op) => op.parameters).find((p) => p.in === 'path' && p.name === name)?.schema['pattern'];
  if (typeof pattern !== 'string') throw new Error(`no path parameter ${name} with a pattern in the spec`);
  return new RegExp(pattern);
}
