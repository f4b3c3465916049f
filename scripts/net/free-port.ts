import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Linux's default when /proc does not say: the range the kernel hands out for port 0 and outgoing connections. */
const DEFAULT_EPHEMERAL: readonly [number, number] = [32768, 60999];
/** Below this, ports are often taken by well-known services; the search stays between it and the ephemeral range. */
const LOWEST = 10_000;
const ATTEMPTS = 64;

/**
 * A free TCP port on 127.0.0.1 for a server started later (another process that takes its port from a variable).
 * The port is picked at random BELOW the kernel's ephemeral range and checked by binding it: the kernel never hands
 * such a port to anybody's `listen(0)` or outgoing connection, so between this check and the later listen only
 * somebody asking for that very number can take it. (A port from `listen(0)`, the usual trick, sits in the range
 * every other test of a parallel run draws from, and was seen taken before the server it was meant for started.)
 * Falls back to `listen(0)` when no range is left below the ephemeral one.
 *
 * @example
 * const port = await freeLoopbackPort();
 * spawn('node', ['main.js'], { env: { ...process.env, ENGINE_PORT: String(port) } });
 */
export async function freeLoopbackPort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const span = ephemeralLow - LOWEST;
  if (span > 1000) {
    for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
      const port = LOWEST + Math.floor(Math.random() * span);
      if (await canListen(port)) return port;
    }
  }
  return listenAnywhere();
}

function ephemeralRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low as number, high as number];
  } catch {
    // not Linux, or /proc is not mounted
  }
  return DEFAULT_EPHEMERAL;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function listenAnywhere(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}
