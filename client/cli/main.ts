/**
 * The `pluct` command line: `bin/pluct.js` registers tsx and calls {@link main}. Commands: transcribe, balance,
 * credits grant, token mint, secret new, sign, doctor; `--help` works on every level.
 */
import { isatty } from 'node:tty';
import { EXIT_OK, EXIT_USAGE, runCommand, type Command, type Io } from './command.js';
import { balanceCommand } from './commands/balance.js';
import { creditsGrantCommand } from './commands/credits-grant.js';
import { doctorCommand } from './commands/doctor.js';
import { runSandbox, SANDBOX_SUMMARY } from './commands/sandbox.js';
import { secretNewCommand } from './commands/secret-new.js';
import { signCommand } from './commands/sign.js';
import { tokenMintCommand } from './commands/token-mint.js';
import { transcribeCommand } from './commands/transcribe.js';

/** Every command, in the order `pluct --help` lists them. */
export const commands: readonly Command[] = [
  transcribeCommand,
  balanceCommand,
  creditsGrantCommand,
  tokenMintCommand,
  secretNewCommand,
  signCommand,
  doctorCommand,
];

/**
 * The process's streams and environment as an {@link Io}.
 *
 * @example
 * await main(['doctor'], processIo());
 */
export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    isTTY: isatty(1) && !process.env['NO_COLOR'],
    errIsTTY: isatty(2) && !process.env['NO_COLOR'],
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * Runs `pluct` with `argv` (without node and the script) and resolves with the exit code.
 *
 * @example
 * process.exitCode = await main(['secret', 'new'], processIo());
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [first, second, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.out(overview());
    return first === undefined ? EXIT_USAGE : EXIT_OK;
  }
  // The sandbox parses its own flags (server/sandbox/config.ts): everything after `sandbox` goes to it as given.
  if (first === 'sandbox') return runSandbox(argv.slice(1), io);
  const single = commands.find((c) => c.name === first);
  if (single) return runCommand(single, argv.slice(1), io);
  const group = commands.filter((c) => c.name.startsWith(`${first} `));
  if (group.length === 0) {
    io.err(`pluct: unknown command '${first}'.\n\n${overview()}`);
    return EXIT_USAGE;
  }
  const sub = group.find((c) => c.name === `${first} ${second}`);
  if (sub) return runCommand(sub, rest, io);
  const listing = group.map((c) => `  pluct ${c.name.padEnd(14)}${c.summary}`).join('\n');
  if (second === '--help' || second === '-h') {
    io.out(`Usage: pluct ${first} <command>\n\nCommands:\n${listing}\n`);
    return EXIT_OK;
  }
  io.err(
    `pluct ${first}: ${second === undefined ? 'a subcommand is required' : `unknown subcommand '${second}'`}.\n\nCommands:\n${listing}\n`,
  );
  return EXIT_USAGE;
}

function overview(): string {
  const rows = [
    ...commands.map((c) => `  ${c.name.padEnd(14)}${c.summary}`),
    `  ${'sandbox'.padEnd(14)}${SANDBOX_SUMMARY}`,
  ].join('\n');
  return `Usage: pluct <command> [options]

The Pluct command line: the SDK's transcription flow, dev tokens and secrets, and deployment checks.

Commands:
${rows}

Run 'pluct <command> --help' for a command's options.
Exit codes: 0 success, 1 failure (the error is printed with what to do), 2 usage error.
`;
}
