import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Linux's default when /proc does not say: the range the kernel hands out for port 0 and outgoing connections. */
const DEFAULT_EPHEMERAL: readonly [number, number] = [32768, 60999];
/** Below this, ports are often taken by well-known services. */
const LOWEST = 10_000;
const HIGHEST = 65_535;
/** A gap narrower than this is not worth drawing from (collisions between callers would be likely). */
const MIN_GAP = 1000;
const ATTEMPTS = 64;
/** Ports this process handed out: never handed out twice, even before their servers listen. */
const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1 for a server started later (another process that takes its port from a variable).
 * The port is picked at random OUTSIDE the kernel's ephemeral range (from the gaps below and above it) and checked
 * by binding it: the kernel never hands such a port to anybody's `listen(0)` or outgoing connection, so between
 * this check and the later listen only somebody asking for that very number can take it; this process never hands
 * the same port out twice. (A port from `listen(0)`, the usual trick, sits in the range every other test of a
 * parallel run draws from, and was seen taken before the server it was meant for started.) Falls back to
 * `listen(0)` only on a machine whose ephemeral range leaves no usable gap.
 *
 * @example
 * const port = await freeLoopbackPort();
 * spawn('node', ['main.js'], { env: { ...process.env, ENGINE_PORT: String(port) } });
 */
export async function freeLoopbackPort(): Promise<number> {
  const gaps = portGaps();
  const size = gaps.reduce((sum, [low, high]) => sum + (high - low + 1), 0);
  for (let attempt = 0; size > 0 && attempt < ATTEMPTS; attempt += 1) {
    let index = Math.floor(Math.random() * size);
    let port = 0;
    for (const [low, high] of gaps) {
      if (index <= high - low) {
        port = low + index;
        break;
      }
      index -= high - low + 1;
    }
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  return listenAnywhere();
}

/**
 * The port ranges {@link freeLoopbackPort} draws from: those of 10000-65535 outside the ephemeral range, each at
 * least 1000 ports wide (on Linux's default range: 10000-32767 and 61000-65535).
 *
 * @example
 * portGaps(); // [[10000, 32767], [61000, 65535]]
 */
export function portGaps(): Array<readonly [number, number]> {
  const [low, high] = ephemeralRange();
  const gaps: Array<readonly [number, number]> = [
    [LOWEST, Math.min(low - 1, HIGHEST)],
    [Math.max(high + 1, LOWEST), HIGHEST],
  ];
  return gaps.filter(([from, to]) => to - from + 1 >= MIN_GAP);
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
