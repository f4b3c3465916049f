/**
 * Ports of the Prism mocks (`npm run mock`): the Business Engine mock on 4010 and the TTTranscribe mock on 4011
 * unless MOCK_ENGINE_PORT / MOCK_TTT_PORT say otherwise. Port 0 means "any free port".
 */
import { createServer } from 'node:net';
import { service } from '../scripts/service-registry.js';

const ENGINE = service('business-engine').mock;
const TTT = service('tttranscribe').mock;

/** The two mock ports. */
export interface MockPorts {
  engine: number;
  ttt: number;
}

/** From the service registry (scripts/service-registry.ts). */
export const DEFAULT_MOCK_PORTS: Readonly<MockPorts> = { engine: ENGINE.defaultPort, ttt: TTT.defaultPort };

function parsePort(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`${name} must be a port number between 0 and 65535; got '${raw}'`);
  }
  return port;
}

/**
 * Reads the mock ports from the environment, falling back to 4010 and 4011.
 *
 * @example
 * mockPortsFromEnv({ MOCK_ENGINE_PORT: '5010' }) // { engine: 5010, ttt: 4011 }
 */
export function mockPortsFromEnv(env: NodeJS.ProcessEnv = process.env): MockPorts {
  return {
    engine: parsePort(ENGINE.portEnv, env[ENGINE.portEnv], DEFAULT_MOCK_PORTS.engine),
    ttt: parsePort(TTT.portEnv, env[TTT.portEnv], DEFAULT_MOCK_PORTS.ttt),
  };
}

/**
 * Fails with a clear message when something already listens on `port` of 127.0.0.1, so a mock never mistakes
 * another server for itself.
 *
 * @example
 * await assertPortFree(4010, 'MOCK_ENGINE_PORT');
 */
export function assertPortFree(port: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${error.code ?? error.message})`;
      reject(
        new Error(`port ${port} ${why}: stop what listens there or set ${name} to another port`, { cause: error }),
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}
