import express, { type RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiDocument } from './operation-matcher.js';

/**
 * Checks every response against the spec (tests turn it on with `validateResponses`): express-openapi-validator
 * wraps `res.json`, and a body, status or content type the operation does not declare becomes an error that the
 * error handler renders as `internal_error` naming the field. Requests are validated elsewhere
 * (request-validator.ts), so this one validates responses only.
 *
 * @example
 * steps.push(responseValidator(spec));
 */
export function responseValidator(spec: OpenApiDocument): RequestHandler {
  const router = express.Router();
  router.use(
    OpenApiValidator.middleware({
      apiSpec: structuredClone(spec) as never,
      validateRequests: false,
      validateResponses: { removeAdditional: false },
      validateSecurity: false,
      ignoreUndocumented: true,
      validateApiSpec: false,
    }),
  );
  return router;
}
