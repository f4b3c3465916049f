import type { Request } from 'express';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { ApiError } from '../errors/api-error.js';
import { hasBody } from './has-body.js';
import type { OpenApiDocument } from './operation-matcher.js';

/** One problem found in a request: where (a JSON pointer starting at body, query, path or headers) and what. */
export interface RequestProblem {
  readonly pointer: string;
  readonly message: string;
}

/** Checks one request against its operation; throws `invalid_request` or `unsupported_media_type`. */
export type ValidateRequest = (req: Request, pathParams: Readonly<Record<string, string>>) => void;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  allowEmptyValue?: boolean;
  schema?: Record<string, unknown>;
}

type Location = 'path' | 'query' | 'header';
interface ParameterCheck {
  readonly location: Location;
  /** Names as they appear in the request (header names lower-cased). */
  readonly names: ReadonlySet<string>;
  readonly validate: ValidateFunction;
}

const POINTER_ROOT: Record<Location, string> = { path: '/path', query: '/query', header: '/headers' };

/**
 * Compiles, once, a validator per operation of a spec: its path, query and header parameters (typed values are
 * coerced from their string form; unknown query parameters are refused) and its JSON request body (the media type
 * must be application/json). Schemas are OpenAPI 3.1, i.e. JSON Schema 2020-12, checked with Ajv; every problem
 * of a request is reported, each with a JSON pointer (`/body/url`, `/query/limit`, `/path/jobId`,
 * `/headers/x-request-id`), as the catalog's `invalid_request` describes.
 *
 * Validation runs after the operation is matched and the body parsed, and after the operation's credential
 * checks, so an anonymous caller learns nothing about the schema.
 *
 * @example
 * const validators = compileRequestValidators(spec);
 * validators.get('vendToken')?.(req, { }); // throws ApiError('invalid_request', …) on a bad body
 */
export function compileRequestValidators(spec: OpenApiDocument): Map<string, ValidateRequest> {
  const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: false, validateFormats: true });
  addFormats.default(ajv);
  const coercing = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true, validateFormats: true });
  addFormats.default(coercing);
  // The whole document is one schema resource, so `#/components/schemas/X` references resolve inside it.
  const components = { $id: 'pluct:spec', components: spec['components'] ?? {} };
  ajv.addSchema(components);
  coercing.addSchema(components);

  const validators = new Map<string, ValidateRequest>();
  for (const [template, item] of Object.entries(spec.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const op = raw as { operationId?: string; parameters?: unknown[]; requestBody?: unknown } | undefined;
      if (!op?.operationId) continue;
      const parameters = [...((item['parameters'] as unknown[] | undefined) ?? []), ...(op.parameters ?? [])].map(
        (p) => resolveRef(spec, p) as Parameter,
      );
      // A location without declared parameters has nothing to check, except the query: any parameter there is unknown.
      const checks = (['path', 'query', 'header'] as const)
        .map((location) => compileParameters(coercing, parameters, location))
        .filter((check) => check.names.size > 0 || check.location === 'query');
      const body = compileBody(ajv, spec, op.requestBody, `${method.toUpperCase()} ${template}`);
      validators.set(op.operationId, (req, pathParams) => {
        const problems: RequestProblem[] = [];
        for (const check of checks) checkParameters(check, req, pathParams, problems);
        if (body) problems.push(...body(req));
        if (problems.length > 0) throw invalidRequest(problems);
      });
    }
  }
  return validators;
}

function compileParameters(ajv: Ajv2020, parameters: Parameter[], location: Location): ParameterCheck {
  const own = parameters.filter((p) => p.in === location);
  const key = (name: string) => (location === 'header' ? name.toLowerCase() : name);
  const schema = {
    type: 'object',
    properties: Object.fromEntries(own.map((p) => [key(p.name), rebase(p.schema ?? {})])),
    required: own.filter((p) => p.required).map((p) => key(p.name)),
  };
  return { location, names: new Set(own.map((p) => key(p.name))), validate: ajv.compile(schema) };
}

/** Adds the problems of one location's parameters to `problems`. */
function checkParameters(
  check: ParameterCheck,
  req: Request,
  pathParams: Readonly<Record<string, string>>,
  problems: RequestProblem[],
): void {
  const root = POINTER_ROOT[check.location];
  const values: Record<string, unknown> = {};
  if (check.location === 'path') {
    Object.assign(values, pathParams);
  } else if (check.location === 'header') {
    for (const name of check.names) if (req.headers[name] !== undefined) values[name] = req.headers[name];
  } else if (req.originalUrl.includes('?')) {
    // (Express parses req.query anew on every read; without a query string there is nothing to parse.)
    for (const [name, value] of Object.entries(req.query as Record<string, unknown>)) {
      if (!check.names.has(name))
        problems.push({ pointer: `${root}/${escape(name)}`, message: `Unknown query parameter '${name}'` });
      else if (value === '')
        problems.push({
          pointer: `${root}/${escape(name)}`,
          message: `Empty value found for query parameter '${name}'`,
        });
      else values[name] = value;
    }
  }
  if (check.names.size > 0 && !check.validate(values)) problems.push(...toProblems(root, check.validate.errors ?? []));
}

function compileBody(
  ajv: Ajv2020,
  spec: OpenApiDocument,
  requestBody: unknown,
  where: string,
): ((req: Request) => RequestProblem[]) | undefined {
  if (requestBody === undefined) return undefined;
  const body = resolveRef(spec, requestBody) as {
    required?: boolean;
    content?: Record<string, { schema?: Record<string, unknown> }>;
  };
  const json = body.content?.['application/json'];
  if (!json) throw new Error(`${where}: only application/json request bodies are supported`);
  const validate = ajv.compile(rebase(json.schema ?? {}));
  const required = body.required === true;
  return (req) => {
    if (!hasBody(req)) {
      return required
        ? [{ pointer: '/body', message: 'is required (send a JSON body with Content-Type: application/json)' }]
        : [];
    }
    if (!isJson(req)) {
      throw new ApiError('unsupported_media_type', 'The request body must be application/json.', {
        details: { received: req.headers['content-type'] ?? null },
      });
    }
    return validate(req.body) ? [] : toProblems('/body', validate.errors ?? []);
  };
}

/** Ajv's errors as pointers: a missing or extra property is reported at the property's own pointer. */
function toProblems(root: string, errors: readonly ErrorObject[]): RequestProblem[] {
  return errors.map((e) => {
    const params = e.params as { missingProperty?: string; additionalProperty?: string };
    const property =
      e.keyword === 'required'
        ? params.missingProperty
        : e.keyword === 'additionalProperties'
          ? params.additionalProperty
          : undefined;
    const pointer = `${root}${e.instancePath}${property === undefined ? '' : `/${escape(property)}`}`;
    return { pointer, message: e.message ?? 'is invalid' };
  });
}

function invalidRequest(problems: RequestProblem[]): ApiError {
  const first = problems[0] as RequestProblem;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new ApiError('invalid_request', `${first.pointer}: ${first.message}${more}.`, {
    details: { errors: problems },
  });
}

function isJson(req: Request): boolean {
  const type = req.headers['content-type'];
  return type !== undefined && /^application\/json\s*(;|$)/i.test(type);
}

/** Points a spec schema's local references (`#/components/...`) at the document registered as `pluct:spec`. */
function rebase(schema: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', '"$ref":"pluct:spec#/')) as Record<string, unknown>;
}

/** A `$ref` followed (repeatedly) to what it points at; anything else as it is. */
function resolveRef(spec: OpenApiDocument, value: unknown): unknown {
  const ref = (value as { $ref?: string } | undefined)?.$ref;
  if (!ref) return value;
  if (!ref.startsWith('#/')) throw new Error(`Only local references are supported, got ${ref}`);
  const target = ref
    .slice(2)
    .split('/')
    .reduce<unknown>(
      (node, part) => (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')],
      spec,
    );
  if (target === undefined) throw new Error(`Unresolved reference ${ref}`);
  return resolveRef(spec, target);
}

function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
