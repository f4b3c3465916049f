/**
 * Releases what a test file's setup created, and only that: each release step is registered right after its
 * resource exists, so a `beforeAll` that fails half-way still frees the half it built and nothing else.
 * (A teardown returned from `beforeAll` does not help there: vitest drops it when the hook throws.)
 *
 * @example
 * const cleanup = createCleanupStack();
 * afterAll(() => cleanup.run());
 * beforeAll(async () => {
 *   server = await startServer();
 *   cleanup.defer(() => server.close());
 * });
 */
export interface CleanupStack {
  /** Registers one release step; call it right after the resource it frees exists. */
  defer(release: () => unknown): void;
  /** Runs every step, last registered first, each once; tries all, then throws the first failure if any. */
  run(): Promise<void>;
}

/** Creates an empty {@link CleanupStack}. */
export function createCleanupStack(): CleanupStack {
  const steps: Array<() => unknown> = [];
  return {
    defer(release) {
      steps.push(release);
    },
    async run() {
      const failures: unknown[] = [];
      for (let step = steps.pop(); step !== undefined; step = steps.pop()) {
        try {
          await step();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) throw new AggregateError(failures, 'several cleanup steps failed');
    },
  };
}
