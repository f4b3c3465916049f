import type { TranscribeProgress } from '../sdk/transcribe.js';
import type { Io } from './command.js';

const BAR_WIDTH = 24;

/** Shows `transcribe` progress on stderr: one redrawn line on a terminal, plain lines (on change) otherwise. */
export interface ProgressDisplay {
  update(progress: TranscribeProgress): void;
  /** Clears the redrawn line (terminal) before the result is printed. */
  finish(): void;
}

/**
 * Creates the display for `io`.
 *
 * @example
 * const display = createProgressDisplay(io);
 * await pluct.transcribe(url, { onProgress: (p) => display.update(p) });
 * display.finish();
 */
export function createProgressDisplay(io: Io): ProgressDisplay {
  let lastLine = '';
  let drawn = false;
  return {
    update(p) {
      const line = describe(p);
      if (io.errIsTTY) {
        const filled = Math.round(Math.min(1, Math.max(0, p.progress)) * BAR_WIDTH);
        const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.round(p.progress * 100)).padStart(3)}%`;
        io.err(`\r\x1b[2K${bar} ${line}`);
        drawn = true;
      } else if (line !== lastLine) {
        io.err(`${line}\n`);
      }
      lastLine = line;
    },
    finish() {
      if (drawn) io.err('\r\x1b[2K');
      drawn = false;
    },
  };
}

function describe(p: TranscribeProgress): string {
  switch (p.phase) {
    case 'vending':
      return 'vending a service token (1 credit)';
    case 'submitting':
      return `submitting the job (credits left: ${p.balanceAfter ?? '?'})`;
    case 'queued':
      return `${p.jobId}: queued`;
    case 'processing':
      return `${p.jobId}: ${p.stage ?? 'processing'}${p.stage && p.stage !== 'queued' ? ` ${Math.round(p.progress * 100)}%` : ''}`;
    case 'completed':
      return `${p.jobId}: completed`;
  }
}
