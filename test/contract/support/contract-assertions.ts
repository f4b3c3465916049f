/**
 * The checks every generated exchange must pass, failing with the operation, the offending field and a curl
 * reproducer: the response conforms to the spec (status declared, media type, body, headers, catalog code
 * listed for the status); no 5xx except the operation's designed upstream_* codes; every error is catalog
 * problem+json; invalid inputs get a 4xx; a credential of the wrong kind never gets a 2xx; a request for what is
 * not there (an id of nothing the caller owns, a disabled endpoint) gets the operation's documented 404 code.
 */
import fc from 'fast-check';
import { errorCatalog, isErrorCode } from '../../../generated/errors.js';
import { describeExchange, type AppliedCredentials, type Exchange } from './exchange.js';
import type { ObservedResponse, Violation } from './response-checker.js';
import { designedUpstreamCodes, type SpecOperation } from './spec-operations.js';

/** What the caller of an exchange is owed. */
export type Expectation =
  /** A valid input with the right credential: 2xx or a catalog problem, never an undesigned 5xx. */
  | 'valid'
  /** An invalid input: a 4xx catalog problem. */
  | 'invalid'
  /** A credential that must be refused: a 4xx, never a 2xx. */
  | 'refused'
  /** The right credential on a request set up to succeed: a 2xx. */
  | 'success'
  /** What is not there (a well-formed id that is unknown or another user's, a disabled endpoint): a 404 it lists. */
  | 'not_found';

/** The fixed seed of every generated suite (CONTRACT_SEED overrides it to explore) and runs per property. */
export const SEED = Number(process.env['CONTRACT_SEED'] ?? 20261123);
export const RUNS = Number(process.env['CONTRACT_RUNS'] ?? 50);
/** fast-check parameters: fixed seed, modest runs, no shrinking beyond a few steps (each step is an HTTP call). */
export const propertyParameters = (runs = RUNS): fc.Parameters<unknown> => ({
  seed: SEED,
  numRuns: runs,
  endOnFailure: true,
});

/**
 * Throws (with a reproducer) when the exchange breaks the contract.
 *
 * @example
 * assertContract(ex, credentials, check, op, 'invalid');
 */
export function assertContract(
  ex: Exchange,
  credentials: AppliedCredentials,
  check: (response: ObservedResponse) => Violation[],
  op: SpecOperation,
  expectation: Expectation,
): void {
  const problems: string[] = [];
  const { status } = ex.response;
  const code = (ex.json as { code?: unknown } | undefined)?.code;
  for (const v of check(ex.response)) problems.push(`spec violation in ${v.operationId} at ${v.pointer}: ${v.message}`);
  if (status >= 500 && !(typeof code === 'string' && designedUpstreamCodes(op).includes(code))) {
    const details = (ex.json as { details?: unknown } | undefined)?.details;
    problems.push(`undesigned ${status} ${String(code)} ${details ? JSON.stringify(details).slice(0, 600) : ''}`);
  }
  if (status >= 400) {
    if (!/^application\/problem\+json/.test(ex.response.headers.get('content-type') ?? ''))
      problems.push(`an error must be application/problem+json, got ${ex.response.headers.get('content-type')}`);
    if (!isErrorCode(code)) problems.push(`an error must carry a catalog code, got ${JSON.stringify(code)}`);
    else if (errorCatalog[code].status !== status)
      problems.push(`${code} is a ${errorCatalog[code].status} in the catalog, not ${status}`);
  }
  if (expectation === 'invalid' && (status < 400 || status >= 500))
    problems.push(`an invalid input must get a 4xx, got ${status}`);
  if (expectation === 'refused' && (status < 400 || status >= 500))
    problems.push(`this credential must be refused with a 4xx, got ${status}`);
  if (expectation === 'success' && status >= 300)
    problems.push(`the right credential must succeed here, got ${status}`);
  if (expectation === 'not_found' && (status !== 404 || !op.errorCodes['404']?.includes(String(code)))) {
    problems.push(
      `this must get the documented 404 ${(op.errorCodes['404'] ?? ['(none documented)']).join(' or ')}, got ${status} ${String(code)}`,
    );
  }
  if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${describeExchange(ex, credentials)}`);
}
