import { ApiError, isApiError } from './api-error.js';

/** The shape of errors thrown by body-parser (express.json) and express-openapi-validator. */
interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  limit?: number;
  errors?: Array<{ path?: string; message?: string; errorCode?: string }>;
  message?: string;
}

/** Turns a validator path such as `.body.url` or `.query.limit` into a JSON pointer: `/body/url`. */
export function toJsonPointer(path: string | undefined): string {
  if (!path) return '';
  // express-openapi-validator says `params` where OpenAPI says `in: path`; pointers follow the spec.
  if (path.startsWith('/')) return path.replace(/^\/params\//, '/path/');
  const parts = path
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((p) => p.length > 0)
    .map((p, i) => (i === 0 && p === 'params' ? 'path' : p))
    .map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1'));
  return `/${parts.join('/')}`;
}

/** What the error middleware knows about the request that failed. */
export interface TranslateContext {
  method?: string;
  path?: string;
  /** The request's Content-Type header as sent (undefined when absent): `details.received` of a 415. */
  contentType?: string | undefined;
}

/** Longest Content-Type echoed back in `details.received`; the header is the caller's own, but unbounded. */
const MAX_RECEIVED_LENGTH = 200;

/**
 * Translates any error that reaches the error middleware into an {@link ApiError} with a catalog code, keeping
 * the original as `cause`. Unknown errors become `internal_error`; a client's mistake never does.
 *
 * @example
 * const apiError = translateError(new SyntaxError('Unexpected token'), { method: 'POST', path: '/v1/vend-token' });
 */
export function translateError(error: unknown, context: TranslateContext = {}): ApiError {
  if (isApiError(error)) return error;
  const e = (error ?? {}) as HttpLikeError;
  const status = e.status ?? e.statusCode;
  if (e.type === 'entity.too.large' || status === 413) {
    return new ApiError('payload_too_large', 'The request body is too large.', {
      details: e.limit === undefined ? {} : { limitBytes: e.limit },
      cause: error,
    });
  }
  if (e.type === 'entity.parse.failed') {
    return new ApiError('invalid_request', 'The request body is not valid JSON.', {
      details: { errors: [{ pointer: '/body', message: 'must be valid JSON' }] },
      cause: error,
    });
  }
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported' || status === 415) {
    return new ApiError('unsupported_media_type', 'The request body must be application/json.', {
      details: { received: receivedContentType(context.contentType) },
      cause: error,
    });
  }
  if (status === 405) {
    return new ApiError('method_not_allowed', `${context.method ?? 'This method'} is not allowed here.`, {
      cause: error,
    });
  }
  if (status === 404) {
    return new ApiError('not_found', `No operation exists at ${context.method ?? ''} ${context.path ?? ''}.`.trim(), {
      details: { method: context.method, path: context.path },
      cause: error,
    });
  }
  if (status === 400 && Array.isArray(e.errors)) {
    const errors = e.errors.map((item) => ({
      pointer: toJsonPointer(item.path),
      message: item.message ?? 'is invalid',
    }));
    return new ApiError('invalid_request', describeErrors(errors), { details: { errors }, cause: error });
  }
  if (status === 500 && Array.isArray(e.errors)) {
    // Only when response validation is on (tests): name the operation's field that broke the contract.
    const errors = e.errors.map((item) => ({
      pointer: toJsonPointer(item.path),
      message: item.message ?? 'is invalid',
    }));
    return new ApiError('internal_error', `The response violates the spec: ${describeErrors(errors)}`, {
      details: { responseErrors: errors },
      cause: error,
    });
  }
  return new ApiError('internal_error', 'An unexpected error occurred.', { cause: error });
}

function describeErrors(errors: Array<{ pointer: string; message: string }>): string {
  const first = errors[0];
  if (!first) return 'The request is invalid.';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${first.pointer || 'The request'}: ${first.message}${more}.`;
}

/** The Content-Type as sent, trimmed and bounded; null when the request had none. */
function receivedContentType(header: string | undefined): string | null {
  const value = header?.trim();
  if (!value) return null;
  return value.length > MAX_RECEIVED_LENGTH ? `${value.slice(0, MAX_RECEIVED_LENGTH)}...` : value;
}
