import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../../scripts/net/free-port.js';

function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32768;
  }
}

describe('freeLoopbackPort', () => {
  it('picks ports below the range the kernel hands out for port 0, each free to listen on', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freeLoopbackPort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralLow());
    }
    // Random, not the same port every time.
    expect(new Set(ports).size).toBeGreaterThan(10);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it('never returns a port somebody listens on', async () => {
    const taken: ReturnType<typeof createServer>[] = [];
    const takenPorts = new Set<number>();
    try {
      // Occupy a good share of the candidates' neighbourhood: whatever comes back must not be one of them.
      for (let i = 0; i < 50; i += 1) {
        const port = await freeLoopbackPort();
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
        taken.push(server);
        takenPorts.add(port);
      }
      expect(takenPorts.size).toBe(50);
    } finally {
      await Promise.all(taken.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });
});
