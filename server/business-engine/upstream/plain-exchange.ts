import type { IncomingHttpHeaders } from 'node:http';

/**
 * The request object openapi-fetch builds (its `Request` option), holding the URL, method, headers and serialised
 * body as plain values. The global Request wraps its body in a WHATWG stream that the signed fetch would only read
 * back into bytes: on the gateway's hot path that round trip cost more CPU than the call itself.
 *
 * @example
 * const client = createTttranscribeClient({ baseUrl, fetch: signedFetch, Request: PlainRequest as unknown as typeof Request });
 */
export class PlainRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  /** The serialised body (openapi-fetch sends JSON as a string), or null. */
  readonly body: string | Uint8Array | null;
  readonly signal: AbortSignal | null;

  constructor(input: string | URL, init: RequestInit = {}) {
    this.url = String(input);
    this.method = (init.method ?? 'GET').toUpperCase();
    this.headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    if (
      init.body !== undefined &&
      init.body !== null &&
      typeof init.body !== 'string' &&
      !(init.body instanceof Uint8Array)
    ) {
      throw new TypeError('PlainRequest carries string or byte bodies only');
    }
    this.body = init.body ?? null;
    this.signal = init.signal ?? null;
  }

  /** The body's exact bytes (what X-Engine-Auth signs and what is sent). */
  bodyBytes(): Buffer | undefined {
    if (this.body === null) return undefined;
    return typeof this.body === 'string' ? Buffer.from(this.body, 'utf8') : Buffer.from(this.body);
  }
}

/**
 * An answer read in full, exposing what openapi-fetch (parsing JSON) and the engine read of a Response: status,
 * ok, headers.get, text() and json(). Built from undici's `pool.request` result without a stream in between.
 *
 * @example
 * return new PlainResponse(answer.statusCode, answer.headers, Buffer.from(await answer.body.arrayBuffer()));
 */
export class PlainResponse {
  readonly headers: { get(name: string): string | null; has(name: string): boolean };

  constructor(
    readonly status: number,
    head: IncomingHttpHeaders,
    private readonly bytes: Buffer,
  ) {
    this.headers = {
      get: (name) => {
        const value = head[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
      has: (name) => head[name.toLowerCase()] !== undefined,
    };
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async text(): Promise<string> {
    return this.bytes.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(this.bytes.toString('utf8')) as unknown;
  }
}
