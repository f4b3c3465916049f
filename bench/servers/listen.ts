import type { Server } from 'node:http';

/**
 * Listens on 127.0.0.1, an ephemeral port, reports `{ type: 'listening', port }` to the harness over IPC, and
 * closes cleanly on SIGTERM/SIGINT (so `--cpu-prof` profiles are written on exit).
 *
 * @example
 * listenForBench(createServer(handler));
 */
export function listenForBench(server: Server, onClose?: () => void): void {
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    if (process.send) process.send({ type: 'listening', port });
    else console.log(`listening on http://127.0.0.1:${port}`);
  });
  const shutdown = () => {
    server.close(() => {
      onClose?.();
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  // The harness is our only client; if it dies, do not linger.
  process.once('disconnect', shutdown);
}
