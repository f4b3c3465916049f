import type { PluctError } from '../sdk/errors.js';
import { isProblem } from '../sdk/errors.js';
import type { Io } from './command.js';

/**
 * Prints an SDK error for a person: code, what happened, what to do, who acts, and the request id to quote.
 * Problem details are printed flat; they never hold a secret or a token.
 *
 * @example
 * if (error) { printError(error, io); return EXIT_FAILURE; }
 */
export function printError(error: PluctError, io: Io): void {
  const mark = io.errIsTTY ? '✗' : 'error:';
  const lines: string[] = [];
  if (isProblem(error)) {
    lines.push(`${mark} ${error.code} (${error.status} ${error.title}): ${error.detail}`);
    lines.push(`  what to do: ${error.guidance}`);
    lines.push(`  who acts:   ${error.responsibility}${error.retryable ? ' (retryable)' : ''}`);
    const details = Object.entries(error.details);
    if (details.length > 0)
      lines.push(
        `  details:    ${details.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`,
      );
  } else {
    const qualifier = error.code === 'job_failed' ? ` (${error.jobFailure})` : '';
    lines.push(`${mark} ${error.code}${qualifier}: ${error.detail}`);
    lines.push(`  what to do: ${error.guidance}`);
    if (error.code === 'job_failed' || error.code === 'poll_timeout') lines.push(`  job id:     ${error.jobId}`);
  }
  lines.push(`  request id: ${error.requestId}`);
  io.err(`${lines.join('\n')}\n`);
}

/**
 * An error as JSON for `--json` output (local errors drop their non-serialisable cause).
 *
 * @example
 * io.out(JSON.stringify({ ok: false, error: errorJson(error) }));
 */
export function errorJson(error: PluctError): Record<string, unknown> {
  const { cause: _cause, reason: _reason, ...rest } = error as PluctError & { cause?: unknown; reason?: unknown };
  return rest;
}
