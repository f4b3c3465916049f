import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobFailure, type JobProcessor } from '../../../../server/tttranscribe/jobs/job-processor.js';
import { succeedingProcessor } from '../../../helpers/ttt-processors.js';
import { startRealStack, type RealStack } from '../../support/real-stack.js';
import { runPluct } from '../../support/run-pluct.js';

const processor: JobProcessor = async (job, ctx) => {
  if (job.url.includes('missing')) throw new JobFailure('media_fetch_failed', 'The media host answered 404 Not Found; check the link.');
  return succeedingProcessor()(job, ctx);
};

let stack: RealStack;
beforeAll(async () => {
  stack = await startRealStack({ processor });
});
afterAll(async () => {
  await stack?.close();
});

describe('pluct transcribe (process)', { timeout: 60_000 }, () => {
  it('prints the transcript on stdout and plain progress lines on stderr', async () => {
    const token = await stack.userJwt('frank');
    const run = await runPluct(['transcribe', 'https://media.example.com/clip.mp4', '--engine', stack.engineUrl, '--token', token]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('and so the story begins\n');
    expect(run.stderr).toMatch(/^vending a service token \(1 credit\)\nsubmitting the job \(credits left: 2\)\njob_\w+: queued\n/);
    expect(run.stderr).not.toContain('\x1b[');
  });

  it('exits 1 with job_failed, the job failure code, the job id and what to do', async () => {
    const token = await stack.userJwt('grace');
    const run = await runPluct(['transcribe', 'https://media.example.com/missing.mp4', '--engine', stack.engineUrl, '--token', token]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/error: job_failed \(media_fetch_failed\): The media host answered 404 Not Found; check the link\./);
    expect(run.stderr).toMatch(/what to do: Media could not be fetched\. Its credit was refunded\./);
    expect(run.stderr).toMatch(/job id: {5}job_\w+/);
  });

  it('exits 2 without a URL', async () => {
    const run = await runPluct(['transcribe']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the URL to transcribe is required');
  });
});
