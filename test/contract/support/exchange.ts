/**
 * Sends a generated request and keeps what a failing property needs to print: the response as observed and
 * a curl reproducer whose credentials are placeholders (never a real token or signature).
 */
import { targetOf, type RequestInput } from './request-inputs.js';
import type { ObservedResponse } from './response-checker.js';

/** Credentials for one request: headers plus the placeholder each stands for in a reproducer. */
export interface AppliedCredentials {
  headers: Record<string, string>;
  /** Header name (lowercase) -> placeholder, e.g. `{ authorization: 'Bearer <service token>' }`. */
  placeholders: Record<string, string>;
  /** A short name of the credential variant, e.g. `user JWT for another audience`. */
  name: string;
}

export interface Exchange {
  input: RequestInput;
  response: ObservedResponse;
  /** The parsed body (undefined when empty or not JSON). */
  json: unknown;
  curl: string;
}

const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
const MAX_SHOWN_BODY = 1_500;

/**
 * A curl command that replays the request, with credentials replaced by placeholders.
 *
 * @example
 * curlFor('http://127.0.0.1:4010', input, credentials);
 * // curl -i -X POST 'http://127.0.0.1:4010/v1/vend-token' -H 'authorization: Bearer <user JWT>' --data-raw '{...}'
 */
export function curlFor(baseUrl: string, input: RequestInput, credentials: AppliedCredentials): string {
  const parts = ['curl -i', `-X ${input.method}`, quote(baseUrl + targetOf(input))];
  const headers = { ...input.headers, ...credentials.headers };
  for (const [name, value] of Object.entries(headers)) {
    const shown =
      credentials.placeholders[name.toLowerCase()] ??
      (value.length > 200 ? `${value.slice(0, 40)}...(${value.length} chars)` : value);
    parts.push(`-H ${quote(`${name}: ${shown}`)}`);
  }
  if (input.body !== undefined) {
    parts.push(
      input.body.length > MAX_SHOWN_BODY
        ? `--data-raw ${quote(`${input.body.slice(0, 200)}...`)}  # body shortened: ${Buffer.byteLength(input.body)} bytes in all`
        : `--data-raw ${quote(input.body)}`,
    );
  }
  return parts.join(' ');
}

/**
 * Sends the input with the credentials and returns the exchange.
 *
 * @example
 * const ex = await send(baseUrl, input, await credentials.apply(input));
 * expect(ex.response.status, ex.curl).toBeLessThan(500);
 */
export async function send(baseUrl: string, input: RequestInput, credentials: AppliedCredentials): Promise<Exchange> {
  const headers = new Headers({ ...input.headers, ...credentials.headers });
  const res = await fetch(baseUrl + targetOf(input), {
    method: input.method,
    headers,
    ...(input.body !== undefined ? { body: input.body } : {}),
  });
  const body = await res.text();
  let json: unknown;
  try {
    json = body === '' ? undefined : JSON.parse(body);
  } catch {
    json = undefined;
  }
  return {
    input,
    response: { method: input.method, path: input.path, status: res.status, headers: res.headers, body },
    json,
    curl: curlFor(baseUrl, input, credentials),
  };
}

/** A short account of an exchange for assertion messages: label, credential, status, code and the curl line. */
export function describeExchange(ex: Exchange, credentials: AppliedCredentials): string {
  const code = (ex.json as { code?: unknown } | undefined)?.code;
  return [
    `${ex.input.operationId} [${ex.input.label}] with ${credentials.name} -> ${ex.response.status}${typeof code === 'string' ? ` ${code}` : ''}`,
    `reproduce: ${ex.curl}`,
    `body: ${ex.response.body.slice(0, 600)}`,
  ].join('\n');
}
