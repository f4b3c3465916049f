import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/tttranscribe/config.js';
import type { JobProcessor } from '../../../server/tttranscribe/jobs/job-processor.js';
import { startTttWorker } from '../../../server/tttranscribe/start-worker.js';
import { memoryLogger } from '../../helpers/ttt-app.js';

const neverCalled: JobProcessor = () => Promise.reject(new Error('no job is queued in this test'));

/** Starts a worker on a private in-memory database with `env`, and returns the lines it logged at start. */
async function startLogs(env: Record<string, string>) {
  const { logger, logs } = memoryLogger();
  const running = await startTttWorker(
    loadConfig({ TTT_DB: ':memory:', TTT_TRANSCRIBER: 'none', ...env }, { worker: true }),
    {
      logger,
      processor: neverCalled,
    },
  );
  await running.close();
  return logs;
}

describe('TTT_ALLOW_PRIVATE_CIDRS at start', () => {
  it('logs the allowed non-public ranges at warn level, naming the variable', async () => {
    const logs = await startLogs({ TTT_ALLOW_PRIVATE_CIDRS: '127.0.0.0/8,::1/128' });
    const warning = logs.find((l) => String(l['msg']).startsWith('TTT_ALLOW_PRIVATE_CIDRS'));
    expect(warning).toMatchObject({ level: 40, allowPrivateCidrs: ['127.0.0.0/8', '::1/128'] });
  });

  it('logs nothing about it when the variable is unset', async () => {
    const logs = await startLogs({});
    expect(logs.some((l) => String(l['msg']).includes('TTT_ALLOW_PRIVATE_CIDRS'))).toBe(false);
    expect(logs.some((l) => l['msg'] === 'TTTranscribe worker started')).toBe(true);
  });
});
