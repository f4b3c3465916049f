/**
 * Turns an answer into an {@link Observed}: from a generated openapi-fetch client (the usual way), or from a
 * plain fetch for what a typed client cannot send (a path or method the spec lacks, a non-JSON body).
 */
import type { Observed, Service } from './catalog-problem.js';

/** What every openapi-fetch call resolves with. */
interface ClientResult {
  readonly data?: unknown;
  readonly error?: unknown;
  readonly response: Response;
}

/**
 * Observes a generated-client call; `error` is the parsed problem body.
 *
 * @example
 * const seen = await observe('business-engine', 'GET', be.client.GET('/v1/credits/balance'));
 */
export async function observe(service: Service, method: string, call: Promise<ClientResult>): Promise<Observed> {
  const { data, error, response } = await call;
  return {
    service,
    method,
    path: new URL(response.url).pathname,
    status: response.status,
    headers: response.headers,
    body: error ?? data,
  };
}

/**
 * Observes a plain fetch to `baseUrl + path`.
 *
 * @example
 * const seen = await observeFetch('tttranscribe', ttt.baseUrl, 'DELETE', '/transcribe');
 */
export async function observeFetch(
  service: Service,
  baseUrl: string,
  method: string,
  path: string,
  init: RequestInit = {},
): Promise<Observed> {
  const response = await fetch(baseUrl + path, { ...init, method });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON: keep the text, the assertions name it.
  }
  return {
    service,
    method,
    path: new URL(response.url).pathname,
    status: response.status,
    headers: response.headers,
    body,
  };
}
