import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobFailure } from '../../../../server/tttranscribe/jobs/job-processor.js';
import { gatedProcessor, type GatedJob } from '../../../helpers/ttt-processors.js';
import { startTttTestApp, T0_MS, type TttTestApp } from '../../../helpers/ttt-app.js';

const URL_OK = 'https://media.example.com/clip.mp4';
let ttt: TttTestApp;
const gate = gatedProcessor();

beforeAll(async () => {
  ttt = await startTttTestApp({ processor: gate.processor });
});
afterAll(async () => {
  await ttt.close();
});

async function submit(language?: string): Promise<string> {
  const { data } = await ttt.client.POST('/transcribe', {
    body: { url: URL_OK, ...(language ? { language } : {}) },
    headers: { Authorization: `Bearer ${await ttt.issuer.mint()}` },
  });
  return String(data?.jobId);
}
const status = (jobId: string) => ttt.client.GET('/status/{jobId}', { params: { path: { jobId } } });

describe('GET /status/{jobId}', () => {
  it('follows a job from queued through processing to completed', async () => {
    ttt.clock.ms = T0_MS;
    const jobId = await submit('en');
    expect((await status(jobId)).data).toEqual({
      ok: true,
      jobId,
      status: 'queued',
      stage: 'queued',
      progress: 0,
      url: URL_OK,
      language: 'en',
      submittedAt: new Date(T0_MS).toISOString(),
      startedAt: null,
      completedAt: null,
      updatedAt: new Date(T0_MS).toISOString(),
    });

    ttt.clock.ms = T0_MS + 1_000;
    const run = ttt.service.worker.runOnce();
    await vi.waitFor(() => expect(gate.pending.some((p) => p.job.jobId === jobId)).toBe(true));
    const job = gate.pending.find((p) => p.job.jobId === jobId) as GatedJob;
    expect(job.job).toEqual({ jobId, url: URL_OK, language: 'en' });
    job.ctx.onProgress('transcribing', 0.55);
    expect((await status(jobId)).data).toMatchObject({
      status: 'processing',
      stage: 'transcribing',
      progress: 0.55,
      startedAt: new Date(T0_MS + 1_000).toISOString(),
      completedAt: null,
    });

    ttt.clock.ms = T0_MS + 20_000;
    job.resolve({ transcript: 'and so the story begins', engine: 'pocketsphinx', model: 'en-us' });
    await run;
    const { data } = await status(jobId);
    expect(data).toMatchObject({
      status: 'completed',
      stage: 'done',
      progress: 1,
      transcript: 'and so the story begins',
      engine: { name: 'pocketsphinx', model: 'en-us' },
      completedAt: new Date(T0_MS + 20_000).toISOString(),
    });
    expect(data?.error).toBeUndefined();
  });

  it('a failed job carries its failure code with retryable and responsibility from the catalog', async () => {
    const jobId = await submit();
    const run = ttt.service.worker.runOnce();
    await vi.waitFor(() => expect(gate.pending.some((p) => p.job.jobId === jobId)).toBe(true));
    (gate.pending.find((p) => p.job.jobId === jobId) as GatedJob).reject(
      new JobFailure('media_too_large', 'The media is larger than 50 MB; send a shorter clip.'),
    );
    await run;
    const { data } = await status(jobId);
    expect(data).toMatchObject({
      status: 'failed',
      language: null,
      error: {
        code: 'media_too_large',
        message: 'The media is larger than 50 MB; send a shorter clip.',
        retryable: false,
        responsibility: 'caller',
      },
    });
    expect(data?.transcript).toBeUndefined();
  });

  it('an unknown id -> 404 job_not_found naming it', async () => {
    const { error, response } = await status('job_DOESNOTEXIST0000000000000');
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ code: 'job_not_found', details: { jobId: 'job_DOESNOTEXIST0000000000000' } });
  });

  it('an id that breaks the pattern -> 400 invalid_request pointing at the path parameter', async () => {
    const { error } = await status('not-a-job');
    expect(error?.code).toBe('invalid_request');
    // Pointers follow the spec's parameter locations: /path/<name>.
    expect((error?.details['errors'] as Array<{ pointer: string }>)[0]?.pointer).toBe('/path/jobId');
  });

  it('needs X-Engine-Auth but no service token', async () => {
    const unsigned = await ttt
      .clientWith({ keys: null })
      .GET('/status/{jobId}', { params: { path: { jobId: 'job_DOESNOTEXIST0000000000000' } } });
    expect(unsigned.error?.code).toBe('missing_engine_auth_header');
  });
});
