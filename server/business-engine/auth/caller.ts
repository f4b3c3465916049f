import type { Response } from 'express';

/** Who is calling, once a credential check passed. */
export type Caller =
  | {
      readonly kind: 'user';
      readonly userId: string;
      readonly scopes: readonly string[];
      /** Set when the user acts through an integration token rather than a user JWT. */
      readonly integrationTokenId?: string;
    }
  | { readonly kind: 'service_token'; readonly userId: string; readonly jti: string; readonly token: string }
  | { readonly kind: 'admin' }
  /** ENGINE_METRICS_TOKEN: may read GET /metrics only. */
  | { readonly kind: 'metrics_reader' };

/**
 * Records the authenticated caller on the response (and `res.locals.subject`, which the access log prints).
 *
 * @example
 * setCaller(res, { kind: 'user', userId: claims.sub, scopes: claims.scopes });
 */
export function setCaller(res: Response, caller: Caller): void {
  res.locals['caller'] = caller;
  res.locals['subject'] =
    caller.kind === 'admin'
      ? 'admin'
      : caller.kind === 'metrics_reader'
        ? 'metrics'
        : caller.kind === 'user'
          ? `user:${caller.userId}`
          : `token:${caller.jti}`;
}

/**
 * The caller an auth middleware recorded; a handler asking for a kind its operation does not authenticate is a
 * programming error.
 *
 * @example
 * const user = callerOf(res, 'user'); // { kind: 'user', userId, scopes }
 */
export function callerOf<K extends Caller['kind']>(res: Response, ...kinds: K[]): Extract<Caller, { kind: K }> {
  const caller = res.locals['caller'] as Caller | undefined;
  if (!caller || !kinds.includes(caller.kind as K)) throw new Error(`no ${kinds.join('/')} caller on this request`);
  return caller as Extract<Caller, { kind: K }>;
}

/**
 * The request id the request-id middleware assigned (also in X-Request-ID and every error body).
 *
 * @example
 * ledger.ensureUser(userId, requestIdOf(res));
 */
export function requestIdOf(res: Response): string {
  return String(res.locals['requestId']);
}
