/**
 * `npm start`: runs the whole Pluct stack locally. Creates .env with fresh secrets when there is none (mode 0600),
 * creates the data directory, builds the docs site if missing, starts the Business Engine and TTTranscribe as two
 * processes wired to each other, waits until both answer /health, prints the URLs and key ids (never a secret),
 * and on Ctrl-C (SIGINT) or SIGTERM stops both and exits 0. If one service dies, the other is stopped too and the
 * stack exits 1. Variables set in the environment override .env.
 *
 * Before starting, it checks the system tools transcription needs (ffmpeg, pocketsphinx and its model) and
 * installs missing ones with apt-get when it can without a prompt (PLUCT_SYSTEM_PACKAGES=0 turns that off); what
 * is still missing is listed in the banner with its fix, and the stack starts anyway. A service never outlives
 * the stack: each notices the stack's death through its IPC channel, and the stack stops both when the process
 * that launched it (npm) is killed.
 *
 * Overrides for tests and second stacks: PLUCT_ENV_FILE (the .env path), PLUCT_DATA_DIR (the data directory),
 * PLUCT_BUILD_DOCS=0 (do not build the docs site), PLUCT_READY_TIMEOUT_MS.
 */
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SERVICES } from './service-registry.js';
import { stackBanner } from './stack/banner.js';
import { startChildService, type ChildService } from './stack/child-service.js';
import { ensureEnvFile } from './stack/dev-env.js';
import { ensureDocs } from './stack/docs-site.js';
import { watchLauncher } from './stack/parent-watch.js';
import { stackEnv, stackPaths } from './stack/stack-env.js';
import { ensureTools, stackTools, thisMachine } from './stack/system-tools.js';
import { waitReady } from './stack/wait-ready.js';

const STOP_GRACE_MS = 15_000; // each service drains for up to 10 s on SIGTERM
const root = fileURLToPath(new URL('..', import.meta.url));
const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string): never => {
  process.stderr.write(`npm start: ${line}\n`);
  process.exit(1);
};

const paths = stackPaths(root, process.env);
mkdirSync(paths.dataDir, { recursive: true });
const envState = await ensureEnvFile(paths.envFile, { engineDb: paths.engineDb, tttDb: paths.tttDb });
if (envState.created)
  say(
    `Created ${paths.envFile} with fresh secrets (mode 0600). Keep it: the data in ${paths.dataDir} needs the same secrets.`,
  );
if (envState.modeWarning) say(`Warning: ${envState.modeWarning}`);
const { env, urls, engineUrl, tttUrl } = stackEnv(paths, envState.values, process.env);
const tools = ensureTools(stackTools(env), thisMachine(env), 'npm start', say);
if (tools.installed.length > 0) say(`npm start: installed ${tools.installed.map((t) => t.name).join(', ')}.`);
const docs = ensureDocs(root, paths.docsDir, { build: process.env['PLUCT_BUILD_DOCS'] !== '0', log: say });

for (const { id, title: name } of SERVICES) {
  const url = urls[id];
  if (await listening(new URL(url)))
    fail(
      `${url} is already in use, so ${name} cannot listen there. Is another stack running? Stop it, or choose other ports (ENGINE_PORT=… TTT_PORT=… npm start).`,
    );
}

const write = (line: string) => process.stdout.write(`${line}\n`);
const services: ChildService[] = SERVICES.map(({ id, entry }) =>
  startChildService(id, entry, { cwd: root, env, write }),
);
const [engine, ttt] = services as [ChildService, ChildService];

let stopping = false as boolean; // `as boolean`: stopAll() sets it, so TypeScript must not narrow it to false below.
async function stopAll(exitCode: number, reason: string): Promise<never> {
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  say(reason);
  await Promise.all(services.map((s) => s.stop(STOP_GRACE_MS)));
  say('Both services stopped.');
  process.exit(exitCode);
}
// One Ctrl-C can arrive twice (from the terminal and relayed by a wrapper such as npm), so only a second Ctrl-C
// more than a second after the first skips the drain.
let firstSigintAt = 0;
process.on('SIGINT', () => {
  if (!stopping) {
    firstSigintAt = Date.now();
    void stopAll(0, 'Stopping both services: each drains its requests for up to 10 s (Ctrl-C again to kill them)...');
  } else if (Date.now() - firstSigintAt > 1_000) {
    say('Killing both services now.');
    services.forEach((s) => s.kill());
  }
});
process.on('SIGTERM', () => void stopAll(0, 'SIGTERM: stopping both services...'));
process.on('SIGHUP', () => void stopAll(0, 'The terminal closed (SIGHUP): stopping both services...'));
watchLauncher((who) => void stopAll(0, `${who} that started the stack is gone: stopping both services...`));
process.on('exit', () => services.forEach((s) => s.kill())); // never leave a service behind
for (const service of services) {
  void service.exited.then(({ code, signal }) => {
    if (stopping) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    void stopAll(1, `${service.name} ${how} (its output is above); stopping the other service.`);
  });
}

const timeoutMs = Number(process.env['PLUCT_READY_TIMEOUT_MS'] ?? 30_000);
const [engineReady, tttReady] = await Promise.all([
  waitReady(engine, engineUrl, timeoutMs),
  waitReady(ttt, tttUrl, timeoutMs),
]);
if (engineReady !== 'ready' || tttReady !== 'ready') {
  if (!stopping)
    await stopAll(
      1,
      `Not ready after ${timeoutMs} ms (Business Engine: ${engineReady}, TTTranscribe: ${tttReady}); stopping.`,
    );
} else {
  say(
    await stackBanner({
      engineUrl,
      tttUrl,
      envFile: paths.envFile,
      envCreated: envState.created,
      dataDir: paths.dataDir,
      docs,
      adminToken: env['ADMIN_TOKEN'],
      missingTools: tools.lines,
      localMediaAllowed: Boolean(env['TTT_ALLOW_PRIVATE_CIDRS']),
    }),
  );
}

/** Whether something already accepts connections at the URL's host and port. */
function listening(url: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
