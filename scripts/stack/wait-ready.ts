import type { ChildService } from './child-service.js';

/**
 * Polls `GET <url>/health` until it answers 200, the process exits, or `timeoutMs` passes.
 *
 * @example
 * const result = await waitReady(engine, 'http://127.0.0.1:8787', 30_000);
 * if (result !== 'ready') console.error(`${engine.name} is ${result}`);
 */
export async function waitReady(
  service: ChildService,
  url: string,
  timeoutMs: number,
): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.hasExited()) return 'exited';
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (response.ok) return 'ready';
    } catch {
      // Not listening yet.
    }
    const gone = await Promise.race([
      service.exited.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 150)),
    ]);
    if (gone) return 'exited';
  }
  return 'timeout';
}
