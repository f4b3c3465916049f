import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Runs middleware in order like an Express route would: each step calls `next()` to go on or `next(error)` (or
 * throws, or returns a rejected promise) to stop; `done` is called with the error, or with nothing after the last
 * step called `next()`. Lets createServiceApp run one operation's steps without a router matching paths again.
 *
 * @example
 * runSteps([parseJson, requireUser, handler], req, res, next);
 */
export function runSteps(steps: readonly RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let index = 0;
  // An object method, not a named arrow: tsx (esbuild keepNames) would give a named closure its name with a
  // defineProperty call on every request.
  const step = {
    next(error?: unknown): void {
      if (error !== undefined && error !== null) {
        done(error);
        return;
      }
      const current = steps[index++];
      if (!current) {
        done();
        return;
      }
      try {
        // eslint-disable-next-line @typescript-eslint/unbound-method -- next() uses `step`, never `this`
        const result: unknown = current(req, res, step.next as NextFunction);
        if (result instanceof Promise) {
          result.then(undefined, (reason: unknown) =>
            step.next(reason ?? new Error('A request step rejected without a reason')),
          );
        }
      } catch (thrown) {
        step.next(thrown ?? new Error('A request step threw without a value'));
      }
    },
  };
  step.next();
}
