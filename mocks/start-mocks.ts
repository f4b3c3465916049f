/**
 * `npm run mock`: Prism mocks of both bundled specs, returning the spec's examples (no dynamic data):
 * the Business Engine (generated/business-engine/openapi.json) on 4010 and TTTranscribe
 * (generated/tttranscribe/openapi.json) on 4011, on 127.0.0.1. MOCK_ENGINE_PORT / MOCK_TTT_PORT move them;
 * `--verbose` shows Prism's request log. Ctrl-C stops both. Any documented answer on request:
 * `Prefer: code=401, example=token_expired`. See mocks/README.md.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { generatedSpec, service } from '../scripts/service-registry.js';
import { freeLoopbackPort } from '../scripts/net/free-port.js';
import { assertPortFree, mockPortsFromEnv } from './ports.js';
import { startPrism, type PrismProcess } from './prism-process.js';

const ENGINE = service('business-engine');
const TTT = service('tttranscribe');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Which ports to use; a missing or 0 port means a free one. */
export interface StartMocksOptions {
  engine?: number;
  ttt?: number;
  /** Forward Prism's request log to this process. */
  verbose?: boolean;
}

/** The two running mocks. */
export interface RunningMocks {
  /** e.g. `http://127.0.0.1:4010` (no trailing slash). */
  engineUrl: string;
  tttUrl: string;
  /** Resolves when either mock process exits. */
  exited: Promise<void>;
  /** Stops both mocks. */
  stop(): Promise<void>;
}

async function choosePort(port: number | undefined, name: string): Promise<number> {
  if (port === undefined || port === 0) return freeLoopbackPort();
  await assertPortFree(port, name);
  return port;
}

/**
 * Starts both mocks and resolves once both answer.
 *
 * @example
 * const mocks = await startMocks(); // free ports
 * await fetch(`${mocks.engineUrl}/health`);
 * await mocks.stop();
 */
export async function startMocks(options: StartMocksOptions = {}): Promise<RunningMocks> {
  const [enginePort, tttPort] = [
    await choosePort(options.engine, ENGINE.mock.portEnv),
    await choosePort(options.ttt, TTT.mock.portEnv),
  ];
  const verbose = options.verbose ?? false;
  const started = await Promise.allSettled([
    startPrism({ name: ENGINE.id, spec: join(root, generatedSpec(ENGINE)), port: enginePort, verbose }),
    startPrism({ name: TTT.id, spec: join(root, generatedSpec(TTT)), port: tttPort, verbose }),
  ]);
  const running = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failed.length > 0) {
    await Promise.all(running.map((m) => m.stop()));
    throw new Error(failed.map((e) => e.message).join('\n'), { cause: failed[0] });
  }
  const [engine, ttt] = running as [PrismProcess, PrismProcess];
  // Never leave a mock behind if the parent exits without calling stop().
  const killOnExit = (): void => {
    engine.child.kill();
    ttt.child.kill();
  };
  process.once('exit', killOnExit);
  return {
    engineUrl: engine.url,
    tttUrl: ttt.url,
    exited: Promise.race([engine.exited, ttt.exited]).then(() => undefined),
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await Promise.all([engine.stop(), ttt.stop()]);
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { verbose: { type: 'boolean', default: false } } });
  const mocks = await startMocks({ ...mockPortsFromEnv(), verbose: values.verbose }).catch((error: unknown) => {
    console.error(`npm run mock: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
  console.log(`Business Engine mock: ${mocks.engineUrl}`);
  console.log(`TTTranscribe mock:    ${mocks.tttUrl}`);
  console.log("Ask for any documented answer with e.g. 'Prefer: code=401, example=token_expired'. Ctrl-C stops.");
  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await mocks.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
  void mocks.exited.then(() => {
    if (!stopping) console.error('A mock stopped unexpectedly; stopping the other.');
    void shutdown(1);
  });
}
