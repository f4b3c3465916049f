/**
 * What a catalog problem observed on the wire must look like: the spec's own example for its code (status,
 * content type, code, title, type, responsibility, retryable, guidance, every required Problem member, the
 * documented `details` keys), the request id of the X-Request-ID header, and no violation of the responding
 * service's spec (the ajv response checker: declared status, schema, code listed for that response).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { errorCatalog, errorTypeUrl, type ErrorCode } from '../../../generated/errors.js';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { createResponseChecker, type ObservedResponse, type Violation } from '../support/response-checker.js';

/** The two services; each answers with its own spec. */
export type Service = 'business-engine' | 'tttranscribe';

/** One HTTP answer as a scenario saw it. */
export interface Observed {
  readonly service: Service;
  readonly method: string;
  /** The request path without the query, e.g. `/ttt/status/job_1`. */
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  /** The parsed body (the raw text when it is not JSON). */
  readonly body: unknown;
}

/** What a scenario adds to the catalog example's expectations. */
export interface ProblemExpectation {
  /**
   * The `details` keys of the catalog example this instance must carry. Default: all of them. Narrow it only
   * when a documented key cannot apply to this instance, and say why next to it.
   */
  readonly detailKeys?: readonly string[];
  /**
   * Documented `details` keys the implementation is KNOWN not to send yet (a finding), each with the reason.
   * The test asserts they are still absent, so it fails once the gap is fixed: then delete the entry.
   */
  readonly knownGaps?: Record<string, string>;
  /** Exact values some `details` members must have (checked with toMatchObject). */
  readonly details?: Record<string, unknown>;
  /** Response headers that must be present, e.g. `Retry-After` or `Allow`. */
  readonly headers?: readonly string[];
}

type Json = Record<string, unknown>;
const specs: Record<Service, OpenApiDocument> = {
  'business-engine': readSpec('generated/business-engine/openapi.json'),
  tttranscribe: readSpec('generated/tttranscribe/openapi.json'),
};
const checkers: Record<Service, (response: ObservedResponse) => Violation[]> = {
  'business-engine': createResponseChecker(specs['business-engine']),
  tttranscribe: createResponseChecker(specs.tttranscribe),
};

function readSpec(path: string): OpenApiDocument {
  return JSON.parse(readFileSync(path, 'utf8')) as OpenApiDocument;
}

/**
 * The example a service's bundled spec gives for a code (`components.examples.<code>.value`), or undefined when
 * that spec does not document the code at all.
 *
 * @example
 * specExample('tttranscribe', 'engine_auth_key_mismatch')?.status; // 401
 */
export function specExample(service: Service, code: ErrorCode): Json | undefined {
  const examples = (specs[service]['components'] as { examples?: Record<string, { value?: Json }> } | undefined)
    ?.examples;
  return examples?.[code]?.value;
}

/** The members the spec's Problem schema requires. */
export const REQUIRED_PROBLEM_MEMBERS: readonly string[] =
  (specs['business-engine']['components'] as { schemas: Record<string, { required?: string[] }> }).schemas['Problem']
    ?.required ?? [];

/**
 * Asserts that an observed answer is the catalog problem `code`, as the responding service's spec documents it.
 *
 * @example
 * expectCatalogProblem(await observe('business-engine', 'GET', be.client.GET('/v1/credits/balance')), 'missing_authorization');
 */
export function expectCatalogProblem(observed: Observed, code: ErrorCode, expectation: ProblemExpectation = {}): void {
  const where = `${code} from ${observed.service} (${observed.method} ${observed.path})`;
  const example = specExample(observed.service, code);
  expect(
    example,
    `${observed.service}'s spec has no example for ${code}: it answered a code its spec does not document`,
  ).toBeDefined();
  const meta = errorCatalog[code];
  const body = (typeof observed.body === 'object' && observed.body !== null ? observed.body : {}) as Json;

  expect(observed.status, `${where}: HTTP status (body ${JSON.stringify(observed.body).slice(0, 300)})`).toBe(
    example?.['status'],
  );
  expect(observed.headers.get('content-type') ?? '', `${where}: content type`).toMatch(
    /^application\/problem\+json(;|$)/,
  );
  expect(body, where).toMatchObject({
    ok: false,
    code,
    status: meta.status,
    title: meta.title,
    type: errorTypeUrl(code),
    responsibility: example?.['responsibility'],
    retryable: example?.['retryable'],
    guidance: example?.['guidance'],
  });
  for (const member of new Set([...REQUIRED_PROBLEM_MEMBERS, ...Object.keys(example ?? {})])) {
    expect(body, `${where}: required member ${member}`).toHaveProperty(member);
  }
  expect(typeof body['detail'] === 'string' && body['detail'].length > 0, `${where}: detail says what happened`).toBe(
    true,
  );

  const requestId = observed.headers.get('x-request-id');
  expect(requestId, `${where}: X-Request-ID header`).toBeTruthy();
  expect(body['requestId'], `${where}: requestId repeats X-Request-ID`).toBe(requestId);

  const details = (body['details'] ?? {}) as Json;
  const documented = Object.keys(example?.['details'] ?? {});
  const gaps = expectation.knownGaps ?? {};
  const keys = (expectation.detailKeys ?? documented).filter((key) => !(key in gaps));
  for (const [key, reason] of Object.entries(gaps)) {
    expect(documented, `${where}: known gap details.${key} is not a documented key of ${code}`).toContain(key);
    expect(
      details,
      `${where}: details.${key} is sent now (known gap: ${reason}); remove it from knownGaps`,
    ).not.toHaveProperty(key);
  }
  for (const key of keys) {
    expect(documented, `${where}: details.${key} is not a documented key of ${code}`).toContain(key);
    expect(details, `${where}: documented details.${key} (details: ${JSON.stringify(details)})`).toHaveProperty(key);
  }
  if (expectation.details) expect(details, `${where}: details`).toMatchObject(expectation.details);
  for (const header of expectation.headers ?? [])
    expect(observed.headers.get(header), `${where}: ${header} header`).toBeTruthy();

  const violations = checkers[observed.service]({
    method: observed.method,
    path: observed.path,
    status: observed.status,
    headers: observed.headers,
    body: typeof observed.body === 'string' ? observed.body : JSON.stringify(observed.body),
  });
  expect(violations, `${where}: the answer breaks ${observed.service}'s spec`).toEqual([]);
}
