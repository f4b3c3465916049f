import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { ApiError } from '../shared/errors/api-error.js';
import { errorHandler } from '../shared/errors/error-handler.js';
import { MAGIC_INPUTS, UNREACHABLE_BY_DESIGN } from './magic-inputs.js';
import { tokenRequestSchema, type TokenRequest } from './user-tokens.js';

/** What `GET /sandbox/state` answers besides `ok`. */
export interface SandboxState {
  readonly users: ReadonlyArray<{ userId: string; balance: number; main: number; bonus: number }>;
  readonly jobs: ReadonlyArray<{
    jobId: string;
    url: string;
    status: string;
    stage: string | null;
    progress: number;
    errorCode: string | null;
    transcript: string | null;
  }>;
}

/**
 * The sandbox's own routes (they exist only in the sandbox, outside the services' specs):
 * `GET /sandbox/state` (users' balances, jobs), `POST /sandbox/reset` (empty databases, same secrets),
 * `POST /sandbox/tokens` (mint a user JWT, any claims) and `GET /sandbox/magic-inputs` (the registry).
 * Errors are problem+json bodies with catalog codes, like the services'.
 *
 * @example
 * root.use('/sandbox', sandboxRoutes({ state, reset, mint, logger }));
 */
export function sandboxRoutes(deps: {
  state: () => Promise<SandboxState>;
  reset: () => Promise<void>;
  mint: (request: TokenRequest) => Promise<{ token: string; sub: string; expiresAt: string }>;
  logger: Logger;
}): Router {
  const router = express.Router();
  router.use(express.json({ limit: '16kb' }));
  router.get('/state', async (_req, res) => {
    res.json({ ok: true, ...(await deps.state()) });
  });
  router.post('/reset', async (_req, res) => {
    await deps.reset();
    res.json({ ok: true, reset: true });
  });
  router.post('/tokens', async (req, res) => {
    const parsed = tokenRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      throw new ApiError('invalid_request', 'The token request is not valid.', {
        details: { errors: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) },
      });
    }
    res.status(201).json({ ok: true, ...(await deps.mint(parsed.data)) });
  });
  router.get('/magic-inputs', (_req, res) => {
    res.json({ ok: true, magicInputs: MAGIC_INPUTS, unreachableByDesign: UNREACHABLE_BY_DESIGN });
  });
  router.use((req) => {
    throw new ApiError('not_found', `No sandbox route at ${req.method} /sandbox${req.path}.`, {
      details: { method: req.method, path: `/sandbox${req.path}` },
    });
  });
  // The one error middleware renders what these routes throw (and the JSON parser's refusals) as catalog problems.
  router.use(errorHandler({ logger: deps.logger }));
  return router;
}
