/**
 * `npm run sandbox` (and `pluct sandbox`): the whole Pluct chain on one local port for app developers, with no
 * secrets to write, no media tools and no network. Reads flags and PLUCT_SANDBOX_* variables (never .env), starts
 * the sandbox, prints the banner with a ready user JWT, and stops cleanly on Ctrl-C or SIGTERM (exit 0).
 * `--help` lists the flags.
 */
import { exitOnConfigError } from '../shared/config/env.js';
import { sandboxBanner } from './banner.js';
import { loadSandboxOptions, SANDBOX_SETTINGS } from './config.js';
import { startSandbox, type SandboxOptions } from './create-sandbox.js';

const BANNER_SUB = 'sandbox-user';
const BANNER_TOKEN_SEC = 24 * 3600;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    [
      'Usage: npm run sandbox -- [--flag value]...',
      '',
      ...Object.entries(SANDBOX_SETTINGS).map(
        ([flag, s]) => `  --${flag.padEnd(20)} ${s.variable.padEnd(34)} ${s.help}`,
      ),
      '',
    ].join('\n'),
  );
  process.exit(0);
}

let options: SandboxOptions;
try {
  options = loadSandboxOptions(args, process.env);
} catch (error) {
  exitOnConfigError('Sandbox', error);
}
const sandbox = await startSandbox(options).catch((error: unknown) => exitOnConfigError('Sandbox', error));
const userJwt = await sandbox.userJwt({ sub: BANNER_SUB, expiresInSec: BANNER_TOKEN_SEC });
const plan = options.faults ?? {};
const planned = Object.keys(plan).filter((k) => k !== 'seed');
process.stdout.write(
  sandboxBanner({
    url: sandbox.url,
    userJwt,
    sub: BANNER_SUB,
    jobDurationMs: options.jobDurationMs ?? 1_500,
    startingCredits: options.startingCredits ?? 3,
    corsOrigins: options.corsOrigins ?? ['*'],
    faults: planned.length === 0 ? undefined : `${planned.join(', ')} (seed ${String(plan.seed ?? 1)})`,
  }),
);

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) process.exit(1);
  stopping = true;
  process.stdout.write(`${signal}: stopping the sandbox...\n`);
  setTimeout(() => process.exit(1), 10_000).unref();
  sandbox.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
