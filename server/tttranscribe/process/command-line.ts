/**
 * Splits a command line from configuration (e.g. `TTT_MEDIA_RESOLVER`) into an argv array, without a shell.
 * Whitespace separates arguments; single or double quotes group them; a backslash escapes the next character
 * outside single quotes. No variable expansion, globbing or redirection ever happens.
 *
 * @example
 * splitCommandLine(`yt-dlp -o {output} "{url}"`); // ['yt-dlp', '-o', '{output}', '{url}']
 */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quote !== null) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) current += line.charAt(++i);
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inArg = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      current += line.charAt(++i);
      inArg = true;
    } else if (/\s/.test(ch)) {
      if (inArg) args.push(current);
      current = '';
      inArg = false;
    } else {
      current += ch;
      inArg = true;
    }
  }
  if (quote !== null) throw new Error(`Unterminated ${quote} quote in command line`);
  if (inArg) args.push(current);
  return args;
}

/**
 * Replaces `{name}` placeholders in each argument. Each argument stays one argv entry, so a value with spaces or
 * shell metacharacters can never become extra arguments. Unknown placeholders are an error.
 *
 * @example
 * fillTemplate(['whisper-cli', '-f', '{wav}'], { wav: '/tmp/a.wav' }); // ['whisper-cli', '-f', '/tmp/a.wav']
 */
export function fillTemplate(argv: readonly string[], values: Readonly<Record<string, string>>): string[] {
  return argv.map((arg) => fillOne(arg, values));
}

/**
 * Same as {@link fillTemplate} for a single string.
 *
 * @example
 * fillOne('{output}.txt', { output: '/tmp/job/transcript' }); // '/tmp/job/transcript.txt'
 */
export function fillOne(arg: string, values: Readonly<Record<string, string>>): string {
  return arg.replace(/\{([a-zA-Z]+)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`Unknown placeholder ${whole} in command template`);
    return value;
  });
}

/**
 * The placeholders used anywhere in a template, to validate configuration when it is built.
 *
 * @example
 * placeholdersOf(['yt-dlp', '-o', '{output}', '{url}']); // Set { 'output', 'url' }
 */
export function placeholdersOf(argv: readonly string[]): Set<string> {
  const found = new Set<string>();
  for (const arg of argv) for (const m of arg.matchAll(/\{([a-zA-Z]+)\}/g)) found.add(m[1] as string);
  return found;
}
