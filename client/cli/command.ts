import { parseArgs } from 'node:util';

/** Where a command writes and what it may read; main.ts passes the process's, tests may pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (✓/✗ tables) or a pipe or file (plain lines). */
  readonly isTTY: boolean;
  /** Whether stderr is a terminal (the redrawn progress bar, ✗ in errors). */
  readonly errIsTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** One option of a command, with what `--help` says about it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly value?: string;
  readonly description: string;
}

export type Values = Record<string, string | boolean | undefined>;

/** A `pluct` command: its name (one or two words), help text, options and what it does. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** The line after "Usage: pluct " (e.g. `sign --method <M> --url <URL> [options]`). */
  readonly usage: string;
  /** Paragraphs printed between usage and options. */
  readonly description: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  readonly examples?: readonly string[];
  /** Positional arguments allowed (default 0). */
  readonly positionals?: number;
  run(values: Values, positionals: string[], io: Io): Promise<number>;
}

/**
 * A mistake in how the command was called: printed with the usage line, exit code 2.
 *
 * @example
 * if (!url) throw new UsageError('the URL to transcribe is required.');
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help.' };

/** What runCommand() asks parseArgs() for: single-valued options only, so every value is a string or a boolean. */
interface CommandArgsConfig {
  args: string[];
  options: Record<string, { type: 'string' | 'boolean'; short?: string }>;
  allowPositionals: true;
  strict: true;
}

/**
 * Parses a command's arguments strictly (unknown options are usage errors), then runs it; `--help` prints help.
 *
 * @example
 * const code = await runCommand(signCommand, ['--method', 'GET', '--url', '/health'], io);
 */
export async function runCommand(command: Command, argv: string[], io: Io): Promise<number> {
  const options = { ...command.options, help: HELP };
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs<CommandArgsConfig>({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usageFailure(command, error instanceof Error ? error.message : String(error), io);
  }
  if (parsed.values['help']) {
    io.out(helpText(command));
    return EXIT_OK;
  }
  if (parsed.positionals.length > (command.positionals ?? 0)) {
    return usageFailure(command, `Unexpected argument '${parsed.positionals[command.positionals ?? 0]}'.`, io);
  }
  try {
    return await command.run(parsed.values, parsed.positionals, io);
  } catch (error) {
    if (error instanceof UsageError) return usageFailure(command, error.message, io);
    throw error;
  }
}

function usageFailure(command: Command, message: string, io: Io): number {
  io.err(
    `pluct ${command.name}: ${message}\nUsage: pluct ${command.usage}\nRun 'pluct ${command.name} --help' for details.\n`,
  );
  return EXIT_USAGE;
}

/**
 * The `--help` text of a command: usage, description, options (generated from the specs) and examples.
 *
 * @example
 * io.out(helpText(signCommand));
 */
export function helpText(command: Command): string {
  const rows = Object.entries({ ...command.options, help: HELP }).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` <${o.value}>` : ''}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  const lines = [
    `Usage: pluct ${command.usage}`,
    '',
    command.description.trim(),
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
  ];
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

/**
 * A required string option, or a usage error naming it.
 *
 * @example
 * const sub = requireString(values, 'sub'); // throws UsageError('--sub is required.')
 */
export function requireString(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required.`);
  return value;
}

/**
 * An optional string option (an empty value counts as absent).
 *
 * @example
 * const language = optionalString(values, 'language');
 */
export function optionalString(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
