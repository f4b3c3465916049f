import { describe, expect, it } from 'vitest';
import type { Io } from '../../../client/cli/command.js';
import { createProgressDisplay } from '../../../client/cli/progress-display.js';

function io(isTTY: boolean): Io & { written: string } {
  const sink = { written: '' };
  return Object.assign(sink, {
    out: () => {},
    err: (t: string) => void (sink.written += t),
    isTTY: false,
    errIsTTY: isTTY,
    env: {},
    cwd: '/',
  });
}

describe('createProgressDisplay', () => {
  it('redraws one line with a bar on a terminal and clears it at the end', () => {
    const tty = io(true);
    const display = createProgressDisplay(tty);
    display.update({ phase: 'processing', progress: 0.5, jobId: 'job_12345678', stage: 'transcribing' });
    display.finish();
    expect(tty.written).toBe(`\r\x1b[2K[############------------]  50% job_12345678: transcribing 50%\r\x1b[2K`);
  });

  it('prints plain lines, once per change, when not a terminal', () => {
    const pipe = io(false);
    const display = createProgressDisplay(pipe);
    display.update({ phase: 'vending', progress: 0 });
    display.update({ phase: 'queued', progress: 0, jobId: 'job_12345678', stage: 'queued' });
    display.update({ phase: 'queued', progress: 0, jobId: 'job_12345678', stage: 'queued' });
    display.update({ phase: 'processing', progress: 0.35, jobId: 'job_12345678', stage: 'decoding' });
    display.finish();
    expect(pipe.written).toBe('vending a service token (1 credit)\njob_12345678: queued\njob_12345678: decoding 35%\n');
  });
});
