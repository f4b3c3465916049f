import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobFailure, type JobProcessor } from '../../../../server/tttranscribe/jobs/job-processor.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';
import { succeedingProcessor } from '../../../helpers/ttt-processors.js';
import { startRealStack, type RealStack } from '../../support/real-stack.js';
import { runPluct } from '../../support/run-pluct.js';

// Local files: the processor downloads the job's URL as TTTranscribe would and echoes what it got.
const fetchedUrls: string[] = [];
const processor: JobProcessor = async (job, ctx) => {
  if (job.url.startsWith('http://127.0.0.1:')) {
    fetchedUrls.push(job.url);
    const response = await fetch(job.url);
    const body = await response.text();
    return {
      ...(await succeedingProcessor()(job, ctx)),
      transcript: `${response.status} ${response.headers.get('content-type')} ${body.trim()}`,
    };
  }
  if (job.url.includes('missing'))
    throw new JobFailure('media_fetch_failed', 'The media host answered 404 Not Found; check the link.');
  return succeedingProcessor()(job, ctx);
};

let stack: RealStack;
const cleanup = createCleanupStack();
beforeAll(async () => {
  stack = await startRealStack({ processor });
  cleanup.defer(() => stack.close());
});
afterAll(() => cleanup.run());

describe('pluct transcribe (process)', { timeout: 60_000 }, () => {
  it('prints the transcript on stdout and plain progress lines on stderr', async () => {
    const token = await stack.userJwt('frank');
    const run = await runPluct([
      'transcribe',
      'https://media.example.com/clip.mp4',
      '--engine',
      stack.engineUrl,
      '--token',
      token,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('and so the story begins\n');
    expect(run.stderr).toMatch(
      /^vending a service token \(1 credit\)\nsubmitting the job \(credits left: 2\)\njob_\w+: queued\n/,
    );
    expect(run.stderr).not.toContain('\x1b[');
  });

  it('exits 1 with job_failed, the job failure code, the job id and what to do', async () => {
    const token = await stack.userJwt('grace');
    const run = await runPluct([
      'transcribe',
      'https://media.example.com/missing.mp4',
      '--engine',
      stack.engineUrl,
      '--token',
      token,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /error: job_failed \(media_fetch_failed\): The media host answered 404 Not Found; check the link\./,
    );
    expect(run.stderr).toMatch(/what to do: Media could not be fetched\. Its credit was refunded\./);
    expect(run.stderr).toMatch(/job id: {5}job_\w+/);
  });

  it('exits 2 without a URL or file', async () => {
    const run = await runPluct(['transcribe']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('the URL or file to transcribe is required');
  });

  it('serves a local file on 127.0.0.1 under a one-time path for the job only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pluct-local-media-'));
    try {
      writeFileSync(join(dir, 'clip.mp4'), 'pretend these are mp4 bytes\n');
      const token = await stack.userJwt('local-file-user');
      const run = await runPluct(['transcribe', './clip.mp4', '--engine', stack.engineUrl, '--token', token], {
        cwd: dir,
      });
      expect(run.stderr).toContain('Serving ./clip.mp4 to TTTranscribe on 127.0.0.1');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('200 video/mp4 pretend these are mp4 bytes\n');
      const url = fetchedUrls.at(-1) as string;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/clip\.mp4$/);
      // The job is over, so the file is no longer served.
      await expect(fetch(url)).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 naming a local file it cannot read, without spending a credit', async () => {
    const token = await stack.userJwt('no-file-user');
    const run = await runPluct(['transcribe', './no-such-clip.mp4', '--engine', stack.engineUrl, '--token', token]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot read the local file \.\/no-such-clip\.mp4: ENOENT/);
    const balance = await runPluct(['balance', '--engine', stack.engineUrl, '--token', token]);
    expect(balance.stdout).toMatch(/no-file-user: 3 credits/);
  });
});
