import express, { type ErrorRequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import type { ErrorCode } from '../../generated/errors.js';
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
      problem(res, 400, 'invalid_request', 'The token request is not valid.', {
        errors: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
      });
      return;
    }
    res.status(201).json({ ok: true, ...(await deps.mint(parsed.data)) });
  });
  router.get('/magic-inputs', (_req, res) => {
    res.json({ ok: true, magicInputs: MAGIC_INPUTS, unreachableByDesign: UNREACHABLE_BY_DESIGN });
  });
  router.use((req, res) => {
    problem(res, 404, 'not_found', `No sandbox route at ${req.method} /sandbox${req.path}.`, {
      method: req.method,
      path: `/sandbox${req.path}`,
    });
  });
  const onError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    const status =
      typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
    if (status >= 500) deps.logger.error({ err: error }, 'sandbox route failed');
    problem(
      res,
      status === 413 ? 413 : status < 500 ? 400 : 500,
      status === 413 ? 'payload_too_large' : status < 500 ? 'invalid_request' : 'internal_error',
      status < 500 ? 'The request body is not valid JSON.' : 'The sandbox failed; see its log.',
      {},
    );
  };
  router.use(onError);
  return router;
}

/** The catalog codes the sandbox's own routes answer with. */
type ProblemCode = Extract<ErrorCode, 'invalid_request' | 'not_found' | 'payload_too_large' | 'internal_error'>;

function problem(
  res: express.Response,
  status: number,
  code: ProblemCode,
  detail: string,
  details: Record<string, unknown>,
): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `/docs/errors.html#${code}`,
        title: code.replace(/_/g, ' '),
        status,
        detail,
        ok: false,
        code,
        details,
      }),
    );
}
