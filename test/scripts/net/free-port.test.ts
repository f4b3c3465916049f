import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freeLoopbackPort, portGaps } from '../../../scripts/net/free-port.js';

const inGaps = (port: number) => portGaps().some(([low, high]) => port >= low && port <= high);

describe('freeLoopbackPort', () => {
  it('picks ports outside the range the kernel hands out for port 0, each free to listen on, never one twice', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freeLoopbackPort()));
    // Where the machine's ephemeral range leaves no gap, the helper falls back to listen(0): nothing to check then.
    if (portGaps().length > 0) for (const port of ports) expect(inGaps(port), String(port)).toBe(true);
    expect(new Set(ports).size).toBe(ports.length);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it('never returns a port somebody listens on', async () => {
    const taken: ReturnType<typeof createServer>[] = [];
    try {
      for (let i = 0; i < 30; i += 1) {
        const port = await freeLoopbackPort();
        const server = createServer();
        // Listening succeeds only on a port nobody holds; a taken one would reject this.
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', resolve);
        });
        taken.push(server);
      }
    } finally {
      await Promise.all(taken.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});

describe('portGaps', () => {
  it('lies outside the ephemeral range and inside 10000-65535', () => {
    for (const [low, high] of portGaps()) {
      expect(low).toBeGreaterThanOrEqual(10_000);
      expect(high).toBeLessThanOrEqual(65_535);
      expect(high - low + 1).toBeGreaterThanOrEqual(1000);
    }
  });
});
