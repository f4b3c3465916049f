import type { Check } from './check.js';

const SYMBOL = { pass: '✓', fail: '✗', warn: '!', skip: '-' } as const;
const WORD = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' } as const;

/**
 * The doctor's table: ✓/✗ symbols on a terminal, PASS/FAIL words otherwise (grep-friendly), each failure
 * followed by its fix, the engine's own checks indented under engine_integration, then a summary line.
 *
 * @example
 * io.out(renderTable(checks, { tty: io.isTTY, engineUrl, tttUrl }));
 */
export function renderTable(
  checks: readonly Check[],
  options: { tty: boolean; engineUrl: string; tttUrl: string },
): string {
  const mark = (c: Check) => (options.tty ? SYMBOL[c.status] : WORD[c.status]);
  const width = Math.max(...checks.map((c) => c.name.length)) + 2;
  const pad = ' '.repeat(width + (options.tty ? 5 : 8));
  const lines = [`pluct doctor: engine ${options.engineUrl}, TTTranscribe ${options.tttUrl}`, ''];
  for (const check of checks) {
    lines.push(`  ${mark(check).padEnd(options.tty ? 2 : 5)} ${check.name.padEnd(width)}${check.detail}`);
    if (check.fix && (check.status === 'fail' || check.status === 'warn')) lines.push(`${pad}fix: ${check.fix}`);
    for (const child of check.children ?? []) {
      lines.push(`${pad}${mark(child)} ${child.name}: ${child.detail}`);
      if (child.fix && child.status === 'fail') lines.push(`${pad}  fix: ${child.fix}`);
    }
  }
  const count = (s: Check['status']) => checks.filter((c) => c.status === s).length;
  const failed = count('fail');
  lines.push(
    '',
    `${count('pass')} passed, ${failed} failed, ${count('warn')} warning${count('warn') === 1 ? '' : 's'}, ${count('skip')} skipped.` +
      (failed > 0 ? ' Fix the first failure first: later checks often follow from it.' : ''),
  );
  return `${lines.join('\n')}\n`;
}
