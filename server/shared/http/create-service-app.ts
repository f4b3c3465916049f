import express, { type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { TrustProxy } from '../config/trust-proxy.js';
import { ApiError } from '../errors/api-error.js';
import { errorHandler, type ClientAbortObserver, type ErrorObserver } from '../errors/error-handler.js';
import { createOperationMatcher, listOperations, type OpenApiDocument } from './operation-matcher.js';
import { compileRequestValidators } from './request-validator.js';
import { requestContext, type ResponseObserver } from './request-context.js';
import { responseValidator } from './response-validator.js';
import { runSteps } from './run-steps.js';
import { refuseSandboxFaultHeader } from './sandbox-fault-header.js';

const MALFORMED_ENCODING = 'must be valid percent-encoded UTF-8';
const BYTE_ORDER_MARK = 'must not start with a byte-order mark (U+FEFF)';

/** What a service provides for one operation: its credential checks (run before validation) and its handler. */
export interface OperationImplementation {
  auth?: RequestHandler | RequestHandler[];
  handler: RequestHandler;
}

export interface ServiceAppOptions {
  /** The bundled spec (generated/<api>/openapi.json). */
  spec: OpenApiDocument;
  /** One implementation per operationId of the spec; a missing or unknown operationId throws at build time. */
  operations: Record<string, OperationImplementation>;
  logger: Logger;
  /** Largest accepted JSON body, in bytes. */
  bodyLimitBytes?: number;
  /** Validate responses against the spec (tests): a violation becomes internal_error naming the field. */
  validateResponses?: boolean;
  /** Middleware run first on every request, once its id is set (e.g. the shutdown drain). */
  before?: RequestHandler[];
  /** Told about every answered request after its access line (e.g. request metrics). */
  onResponse?: ResponseObserver[];
  /** Extra routes outside the spec (e.g. static docs), mounted before the 404 fallback. */
  extraRoutes?: (app: Express) => void;
  onError?: ErrorObserver;
  /** Told about every request whose client aborted its body (answered by nobody: the connection is gone). */
  onClientAbort?: ClientAbortObserver;
  /** Express's `trust proxy` (the service's TRUST_PROXY variable): whose X-Forwarded-For sets `req.ip`. Default off. */
  trustProxy?: TrustProxy;
}

/**
 * Builds an Express 5 app that implements a spec: request ids, access log, operation matching (404/405 from the
 * spec), JSON bodies with a size limit, per-operation credential checks, request validation against the spec
 * (validators compiled once per operation), handlers named by operationId, and one problem+json error handler.
 *
 * @example
 * const app = createServiceApp({ spec, logger, operations: { getHealth: { handler: getHealth(deps) } } });
 */
export function createServiceApp(options: ServiceAppOptions): Express {
  const { spec, operations, logger } = options;
  const declared = listOperations(spec);
  const missing = declared.filter((op) => !operations[op.operationId]).map((op) => op.operationId);
  const unknown = Object.keys(operations).filter((id) => !declared.some((op) => op.operationId === id));
  if (missing.length > 0) throw new Error(`No implementation for operations: ${missing.join(', ')}`);
  if (unknown.length > 0) throw new Error(`Implementations for operations the spec lacks: ${unknown.join(', ')}`);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  const trust = options.trustProxy ?? false;
  app.set('trust proxy', typeof trust === 'object' ? [...trust] : trust);
  app.use(requestContext({ logger, observers: options.onResponse ?? [], before: options.before ?? [] }));
  app.use(refuseSandboxFaultHeader);
  options.extraRoutes?.(app);

  const match = createOperationMatcher(spec);
  const validators = compileRequestValidators(spec);
  const parseJson = express.json({
    limit: options.bodyLimitBytes ?? 64 * 1024,
    // Keep the exact bytes: X-Engine-Auth signs the raw body, not its re-serialisation.
    verify: (req, _res, buf) => {
      // One rule for every operation: RFC 8259 8.1 says JSON text must not begin with a byte-order mark, and the
      // parser would drop it silently, so a signed body and the parsed one would differ. Refused, never stripped.
      if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        throw new ApiError(
          'invalid_request',
          'The request body starts with a UTF-8 byte-order mark; send JSON without one.',
          {
            details: { errors: [{ pointer: '/body', message: BYTE_ORDER_MARK }] },
          },
        );
      }
      (req as unknown as { rawBody: Buffer }).rawBody = buf;
    },
  });
  // Response validation (tests only) stays with express-openapi-validator, which wraps res.json.
  const checkResponses = options.validateResponses ? responseValidator(spec) : undefined;
  const pipelines = new Map<string, RequestHandler[]>();
  for (const op of declared) {
    const impl = operations[op.operationId] as OperationImplementation;
    const validate = validators.get(op.operationId);
    // Only an operation that takes a body reads one; any other ignores what a client may send along.
    const steps: RequestHandler[] = [...(op.hasRequestBody ? [parseJson] : []), ...[impl.auth ?? []].flat()];
    if (validate) {
      steps.push((req, res, next) => {
        validate(req, res.locals['pathParams'] as Record<string, string>);
        next();
      });
    }
    if (checkResponses) steps.push(checkResponses);
    steps.push(impl.handler);
    pipelines.set(op.operationId, steps);
  }

  // One dispatching middleware instead of a route table: the operation is matched once, from the spec, and its
  // steps (body, credentials, validation, handler) run in order without Express re-matching every route.
  app.use((req, res, next) => {
    const result = match(req.method, req.path);
    if (result.kind === 'not_found') {
      next(
        new ApiError('not_found', `No operation exists at ${req.method} ${req.path}.`, {
          details: { method: req.method, path: req.path },
        }),
      );
      return;
    }
    if (result.kind === 'method_not_allowed') {
      next(
        new ApiError('method_not_allowed', `${req.method} is not allowed on ${req.path}.`, {
          details: { allowed: result.allowed },
          headers: { Allow: result.allowed.join(', ') },
        }),
      );
      return;
    }
    res.locals['operationId'] = result.operation.operationId;
    if (result.operation.malformedParams.length > 0) {
      const errors = result.operation.malformedParams.map((name) => ({
        pointer: `/path/${name}`,
        message: MALFORMED_ENCODING,
      }));
      next(
        new ApiError('invalid_request', `${errors.map((e) => e.pointer).join(', ')}: ${MALFORMED_ENCODING}.`, {
          details: { errors },
        }),
      );
      return;
    }
    res.locals['pathParams'] = result.operation.params;
    req.params = result.operation.params;
    runSteps(pipelines.get(result.operation.operationId) ?? [], req, res, next);
  });
  const realm =
    typeof (spec['info'] as { title?: unknown } | undefined)?.title === 'string'
      ? (spec['info'] as { title: string }).title
      : undefined;
  app.use(
    errorHandler({
      logger,
      ...(realm ? { realm } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.onClientAbort ? { onClientAbort: options.onClientAbort } : {}),
    }),
  );
  return app;
}

/** The raw request body bytes captured by the JSON parser (empty when there was no body). */
export function rawBody(req: unknown): Buffer {
  return (req as { rawBody?: Buffer }).rawBody ?? Buffer.alloc(0);
}
