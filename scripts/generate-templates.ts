/** Source templates for the modules `npm run generate` writes under generated/. */

interface CatalogEntry {
  summary: string;
  description: string;
  value: Record<string, unknown> & {
    status?: number;
    responsibility: string;
    retryable: boolean;
    guidance?: string;
    details?: unknown;
  };
}

export interface Catalog {
  problems: Record<string, CatalogEntry>;
  jobFailures: Record<string, CatalogEntry>;
}

const pascal = (name: string): string =>
  name.replace(/(^|[-_])([a-z])/g, (_m, _sep: string, ch: string) => ch.toUpperCase());

/** An openapi-fetch client factory typed by the API's generated `paths`. */
export function renderClientModule(api: string): string {
  const type = `${pascal(api)}Client`;
  return `import createClient, { type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema.js';

export type { components, operations, paths };

/** A typed openapi-fetch client for the ${api} API. */
export type ${type} = ReturnType<typeof create${type}>;

/**
 * Creates a typed client for the ${api} API. Every call resolves to \`{ data, error, response }\`;
 * \`error\` is the problem+json body, discriminated by \`code\`.
 *
 * @example
 * const client = create${type}({ baseUrl: 'http://127.0.0.1:8787' });
 * const { data, error } = await client.GET('/health');
 */
export function create${type}(options: ClientOptions = {}) {
  return createClient<paths>(options);
}
`;
}

/** The error catalog as code unions, metadata and problem types. */
export function renderErrorsModule(catalog: Catalog): string {
  const problems = Object.fromEntries(
    Object.entries(catalog.problems).map(([code, entry]) => [
      code,
      {
        status: entry.value.status,
        title: entry.summary,
        responsibility: entry.value.responsibility,
        retryable: entry.value.retryable,
        guidance: entry.value.guidance,
        description: entry.description,
        exampleDetails: entry.value.details ?? {},
      },
    ]),
  );
  const jobFailures = Object.fromEntries(
    Object.entries(catalog.jobFailures).map(([code, entry]) => [
      code,
      {
        title: entry.summary,
        responsibility: entry.value.responsibility,
        retryable: entry.value.retryable,
        description: entry.description,
        exampleMessage: entry.value['message'],
      },
    ]),
  );
  return `import type { components } from './business-engine/schema.js';

/** Who must act on an error. */
export type Responsibility = 'caller' | 'gateway' | 'upstream' | 'operator';

/** Every HTTP error code of every Pluct service, with its fixed metadata (spec/shared/errors.yaml). */
export const errorCatalog = ${JSON.stringify(problems, null, 2)} as const;

/** A code of an HTTP error. */
export type ErrorCode = keyof typeof errorCatalog;

/** Every HTTP error code, in catalog order. */
export const errorCodes = Object.keys(errorCatalog) as ErrorCode[];

/** Codes of a failed job (\`error.code\` in a job status), with their metadata. */
export const jobFailureCatalog = ${JSON.stringify(jobFailures, null, 2)} as const;

/** A code of a failed job. */
export type JobFailureCode = keyof typeof jobFailureCatalog;

/** Every job failure code, in catalog order. */
export const jobFailureCodes = Object.keys(jobFailureCatalog) as JobFailureCode[];

/** The problem+json body of every error, as the spec defines it. */
export type Problem = components['schemas']['Problem'];

/** The problem body of one code. */
export type ProblemOf<C extends ErrorCode> = Omit<Problem, 'code' | 'status'> & {
  code: C;
  status: (typeof errorCatalog)[C]['status'];
};

/** Any problem body: a union discriminated by \`code\`. */
export type AnyProblem = { [C in ErrorCode]: ProblemOf<C> }[ErrorCode];

/** Whether a string is a catalog code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalog, value);
}

/** Whether a string is a job failure code. */
export function isJobFailureCode(value: unknown): value is JobFailureCode {
  return typeof value === 'string' && Object.hasOwn(jobFailureCatalog, value);
}

/** The problem \`type\` URL of a code: its section of the error catalog page. */
export function errorTypeUrl(code: ErrorCode): string {
  return \`/docs/errors.html#\${code}\`;
}
`;
}

/** The spec file `npm run generate` writes from the catalog: the enums the Problem schema refers to. */
export const ERROR_CODES_SPEC = 'spec/shared/error-codes.yaml';

/**
 * Renders spec/shared/error-codes.yaml: the `ErrorCode` and `JobFailureCode` enums, in catalog order, so the
 * problem schema lists exactly the catalog's codes without a hand-kept copy.
 *
 * @example
 * writeFileSync(ERROR_CODES_SPEC, renderErrorCodesSpec(parse(readFileSync('spec/shared/errors.yaml', 'utf8'))));
 */
export function renderErrorCodesSpec(catalog: Catalog): string {
  const list = (codes: string[]) => codes.map((code) => `    - ${code}\n`).join('');
  return `# Generated by \`npm run generate\` from spec/shared/errors.yaml. Do not edit by hand: add a code to the catalog.
ErrorCode:
  type: string
  description: A code of the error catalog (lint checks this list against spec/shared/errors.yaml).
  enum:
${list(Object.keys(catalog.problems))}JobFailureCode:
  type: string
  description: Why a job failed (catalog \`jobFailures\`).
  enum:
${list(Object.keys(catalog.jobFailures))}`;
}
