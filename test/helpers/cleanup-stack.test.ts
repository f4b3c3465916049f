import { describe, expect, it } from 'vitest';
import { createCleanupStack } from './cleanup-stack.js';

describe('createCleanupStack', () => {
  it('runs the registered steps last first, each once', async () => {
    const cleanup = createCleanupStack();
    const ran: string[] = [];
    cleanup.defer(() => ran.push('dir'));
    cleanup.defer(async () => {
      await Promise.resolve();
      ran.push('server');
    });
    await cleanup.run();
    await cleanup.run();
    expect(ran).toEqual(['server', 'dir']);
  });

  it('runs nothing when nothing was set up', async () => {
    await expect(createCleanupStack().run()).resolves.toBeUndefined();
  });

  it('still runs the other steps when one fails, then throws that failure', async () => {
    const cleanup = createCleanupStack();
    const ran: string[] = [];
    const boom = new Error('close failed');
    cleanup.defer(() => ran.push('first'));
    cleanup.defer(() => Promise.reject(boom));
    cleanup.defer(() => ran.push('last'));
    await expect(cleanup.run()).rejects.toBe(boom);
    expect(ran).toEqual(['last', 'first']);
  });

  it('reports every failure when several steps fail', async () => {
    const cleanup = createCleanupStack();
    const first = new Error('first');
    const second = new Error('second');
    cleanup.defer(() => {
      throw first;
    });
    cleanup.defer(() => {
      throw second;
    });
    const failure: unknown = await cleanup.run().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AggregateError);
    expect((failure as AggregateError).errors).toEqual([second, first]);
  });
});
