/**
 * Catalog reachability, job failure codes: for EVERY job failure code of generated/errors.ts, a job that the
 * real media pipeline fails with it. `satisfies Record<JobFailureCode, …>` makes TypeScript reject the table
 * when a code is missing; job-failure-reachability.test.ts checks the same at run time.
 *
 * To cover a new job failure code: add a route to the media host or a pair to job-world.ts if needed, then a
 * `code: [{ how, pair, mediaPath }]` entry here.
 */
import { randomUUID } from 'node:crypto';
import type { components } from '../../../generated/business-engine/schema.js';
import type { JobFailureCode } from '../../../generated/errors.js';
import type { JobWorld, PipelinePair } from './job-world.js';

type TranscriptionStatus = components['schemas']['TranscriptionStatus'];
type LedgerEntry = components['schemas']['LedgerPage']['entries'][number];

/** One job the real pipeline fails with a given code. */
export interface JobScenario {
  readonly how: string;
  readonly pair: (world: JobWorld) => Promise<PipelinePair>;
  /** The path on the world's media host the job is submitted for. */
  readonly mediaPath: string;
}

export type JobScenarios = readonly [JobScenario, ...JobScenario[]];

export const jobScenarios = {
  media_fetch_failed: [
    { how: 'the media host answers 404', pair: (w) => w.failingEngine(), mediaPath: '/missing.mp3' },
  ],
  media_too_large: [
    { how: 'the media host sends 500 kB against a 200 kB limit', pair: (w) => w.failingEngine(), mediaPath: '/huge' },
  ],
  unsupported_media: [{ how: 'the link is an HTML page', pair: (w) => w.failingEngine(), mediaPath: '/page.html' }],
  transcription_failed: [
    { how: 'the speech program exits 2 on decoded audio', pair: (w) => w.failingEngine(), mediaPath: '/tone.mp3' },
  ],
  transcription_engine_unavailable: [
    { how: 'TTT_TRANSCRIBER=none', pair: (w) => w.noEngine(), mediaPath: '/tone.mp3' },
  ],
  job_timed_out: [
    { how: 'a download that never ends, with a 1 s job limit', pair: (w) => w.oneSecondLimit(), mediaPath: '/slow' },
  ],
} as const satisfies Record<JobFailureCode, JobScenarios>;

/** What a job looked like once failed: the engine's status answer, TTTranscribe's own, and the user's ledger. */
export interface FailedJob {
  readonly engineStatus: TranscriptionStatus;
  readonly tttStatus: unknown;
  readonly tokenId: string;
  readonly ledger: readonly LedgerEntry[];
}

/**
 * Vends, submits the scenario's media URL through the engine, runs TTTranscribe's worker until the queue is
 * empty, then polls the job through the engine (which settles the credit) and directly at TTTranscribe.
 *
 * @example
 * const job = await runFailingJob(world, jobScenarios.media_too_large[0]);
 */
export async function runFailingJob(world: JobWorld, scenario: JobScenario): Promise<FailedJob> {
  const pair = await scenario.pair(world);
  const media = await world.media();
  const user = { Authorization: `Bearer ${await pair.userJwt(`job-${randomUUID().slice(0, 8)}`)}` };
  const vended = await pair.client.POST('/v1/vend-token', { body: { clientRequestId: randomUUID() }, headers: user });
  if (!vended.data) throw new Error(`vend failed: ${JSON.stringify(vended.error)}`);
  const submitted = await pair.client.POST('/ttt/transcribe', {
    body: { url: media.url(scenario.mediaPath) },
    headers: { Authorization: `Bearer ${vended.data.token}` },
  });
  if (!submitted.data) throw new Error(`submit failed: ${JSON.stringify(submitted.error)}`);
  const { jobId } = submitted.data;
  await pair.ttt.service.worker.drain();
  const polled = await pair.client.GET('/ttt/status/{jobId}', { params: { path: { jobId } }, headers: user });
  if (!polled.data) throw new Error(`status failed: ${JSON.stringify(polled.error)}`);
  const direct = await pair.ttt.client.GET('/status/{jobId}', { params: { path: { jobId } } });
  const ledger = await pair.client.GET('/v1/credits/ledger', { headers: user });
  return {
    engineStatus: polled.data,
    tttStatus: direct.data,
    tokenId: vended.data.tokenId,
    ledger: ledger.data?.entries ?? [],
  };
}
