import { isApiError } from '../../server/shared/errors/api-error.js';

/**
 * Awaits a promise that must reject with an ApiError and returns its code and details (throws otherwise), so
 * unit tests of verifiers can assert the catalog answer without an HTTP round trip.
 *
 * @example
 * expect(await refusal(verify(expiredToken))).toMatchObject({ code: 'token_expired' });
 */
export async function refusal(promise: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isApiError(error)) throw new Error(`expected an ApiError, got ${String(error)}`);
  return { code: error.code, details: error.details };
}

/**
 * The same for a function that must throw an ApiError synchronously.
 *
 * @example
 * expect(refusalOf(() => readBearerToken(req, 'user_jwt'))).toMatchObject({ code: 'missing_authorization' });
 */
export function refusalOf(fn: () => unknown): { code: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    if (isApiError(error)) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error('expected an ApiError');
}
