import { errorCatalog, type ErrorCode } from '../../../generated/errors.js';

/** One request the fake saw. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
  readonly requestId: string | null;
  readonly body: unknown;
}

export type FakeRoute = (req: SeenRequest, nth: number) => Response | Promise<Response>;

/**
 * A fetch double that routes by "METHOD /path" (path params as `*`), records every request and counts calls per route.
 *
 * @example
 * const fake = fakeFetch({ 'GET /v1/credits/balance': () => json(200, balanceBody) });
 * createPluctClient({ baseUrl: 'http://engine.test', getUserToken, fetch: fake.fetch });
 */
export function fakeFetch(routes: Record<string, FakeRoute>) {
  const seen: SeenRequest[] = [];
  const counts = new Map<string, number>();
  const fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const text = request.body ? await request.text() : '';
    const req: SeenRequest = {
      method: request.method,
      path: url.pathname + url.search,
      authorization: request.headers.get('authorization'),
      requestId: request.headers.get('x-request-id'),
      body: text ? JSON.parse(text) : undefined,
    };
    seen.push(req);
    const key = Object.keys(routes).find((k) => matches(k, request.method, url.pathname));
    if (!key) return problem('not_found', { detail: `No fake route for ${request.method} ${url.pathname}` });
    const nth = (counts.get(key) ?? 0) + 1;
    counts.set(key, nth);
    return (routes[key] as FakeRoute)(req, nth);
  };
  return { fetch, seen, count: (key: string) => counts.get(key) ?? 0 };
}

function matches(key: string, method: string, path: string): boolean {
  const [m, p] = key.split(' ');
  if (m !== method || !p) return false;
  const re = new RegExp(
    `^${p
      .split('*')
      .map((s) => s.replace(/[.?+^$()[\]{}|\\]/g, '\\$&'))
      .join('[^/]+')}$`,
  );
  return re.test(path);
}

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** A catalog problem+json response; `requestId: null` leaves it out of the body. */
export function problem(
  code: ErrorCode,
  options: { detail?: string; details?: Record<string, unknown>; requestId?: string | null } = {},
): Response {
  const meta = errorCatalog[code];
  const body: Record<string, unknown> = {
    type: `/docs/errors.html#${code}`,
    title: meta.title,
    status: meta.status,
    detail: options.detail ?? meta.title,
    ok: false,
    code,
    retryable: meta.retryable,
    responsibility: meta.responsibility,
    guidance: meta.guidance,
    details: options.details ?? {},
  };
  if (options.requestId !== null) body['requestId'] = options.requestId ?? 'req_fromserver0001';
  return new Response(JSON.stringify(body), {
    status: meta.status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

/** An unsigned JWT-shaped token (the SDK only decodes it). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}.c2ln`;
}

/** A token source whose tokens live `lifetimeSec` from the (fake) clock, counting its calls. */
export function tokenSource(lifetimeSec = 900, skewSec = 0) {
  let calls = 0;
  const getUserToken = async () => {
    calls += 1;
    const iat = Math.floor(Date.now() / 1000) + skewSec;
    return fakeJwt({ sub: 'user-1', scope: 'ttt:transcribe credits:read', iat, exp: iat + lifetimeSec, n: calls });
  };
  return { getUserToken, calls: () => calls };
}

export const BALANCE = {
  ok: true,
  userId: 'user-1',
  balance: 3,
  main: 0,
  bonus: 3,
  updatedAt: '2026-11-23T10:00:00.000Z',
} as const;
export const ENGINE = 'http://engine.test';
