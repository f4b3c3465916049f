/**
 * Real TTTranscribes running the REAL media pipeline (guarded download, ffmpeg, the configured speech engine)
 * behind real Business Engines, and a media host on 127.0.0.1 (admitted with the pipeline's
 * allowPrivateCidrs, TTT_ALLOW_PRIVATE_CIDRS in production). The only stand-in is the speech program: a
 * script that exits non-zero, through the real command engine. Each pair starts on first use.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBusinessEngineClient, type BusinessEngineClient } from '../../../generated/business-engine/client.js';
import type { TttAppConfig } from '../../../server/tttranscribe/app.js';
import { createMediaProcessor } from '../../../server/tttranscribe/media/create-media-processor.js';
import type { MediaProcessorOptionsInput } from '../../../server/tttranscribe/media/media-options.js';
import { createMediaFixtures, type MediaFixtures } from '../../fixtures/media.js';
import { routes, startMediaServer, type MediaServer } from '../../fixtures/media-server.js';
import { startTttTestApp, type TttTestApp } from '../../helpers/ttt-app.js';
import { startTestEngine, testUserJwt, type TestEngine } from '../support/contract-stack.js';

/** The media pipeline's byte limit in these pairs: the `/huge` route serves more. */
export const MAX_MEDIA_BYTES = 200_000;

/** A TTTranscribe with the real pipeline and the engine in front of it. */
export interface PipelinePair {
  readonly ttt: TttTestApp;
  readonly engine: TestEngine;
  /** The generated client of the engine. */
  readonly client: BusinessEngineClient;
  /** A user JWT the engine accepts. */
  userJwt(sub: string): Promise<string>;
}

export interface JobWorld {
  /** The media host: `/tone.mp3` (1 s of MP3), `/page.html`, `/huge` (500 kB), `/slow` (never ends); anything else 404. */
  media(): Promise<MediaServer>;
  /** The pipeline with a speech program that exits 2, and a 200 kB limit. */
  failingEngine(): Promise<PipelinePair>;
  /** The pipeline with TTT_TRANSCRIBER=none. */
  noEngine(): Promise<PipelinePair>;
  /** The pipeline with a 1-second job time limit (TTT_JOB_TIMEOUT_SEC=1). */
  oneSecondLimit(): Promise<PipelinePair>;
  close(): Promise<void>;
}

/**
 * Creates the world; nothing starts until a scenario asks for it.
 *
 * @example
 * const world = createJobWorld();
 * const pair = await world.failingEngine();
 */
export function createJobWorld(): JobWorld {
  const closers: Array<() => Promise<void>> = [];
  const once = <T>(start: () => Promise<T>): (() => Promise<T>) => {
    let started: Promise<T> | undefined;
    return () => (started ??= start());
  };

  const workDir = once(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'catalog-jobs-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  });
  const fixtures = once(async () => {
    const made: MediaFixtures = await createMediaFixtures();
    closers.push(() => made.cleanup());
    return made;
  });
  const media = once(async () => {
    const server = await startMediaServer({
      '/tone.mp3': routes.file(await (await fixtures()).tone(1), 'audio/mpeg'),
      '/page.html': routes.html(),
      '/huge': routes.bytes(500_000),
      '/slow': routes.slow(),
    });
    closers.push(() => server.close());
    return server;
  });
  const pair = async (
    pipeline: MediaProcessorOptionsInput,
    config: Partial<TttAppConfig> = {},
  ): Promise<PipelinePair> => {
    const processor = createMediaProcessor({
      allowPrivateCidrs: ['127.0.0.1/32'],
      maxBytes: MAX_MEDIA_BYTES,
      tmpDir: await workDir(),
      ...pipeline,
    });
    const ttt = await startTttTestApp({ processor, config });
    const engine = await startTestEngine({ tttBaseUrl: ttt.baseUrl, issuer: ttt.issuer, now: () => ttt.clock.ms });
    closers.push(async () => {
      await engine.close();
      await ttt.close();
    });
    return {
      ttt,
      engine,
      client: createBusinessEngineClient({ baseUrl: engine.url }),
      userJwt: (sub) => testUserJwt(ttt.clock.ms, { sub }),
    };
  };
  const failingProgram = once(async () => {
    const path = join(await workDir(), 'failing-speech-engine');
    await writeFile(path, '#!/bin/sh\necho "TEST-ONLY speech engine: model file is corrupt" >&2\nexit 2\n');
    await chmod(path, 0o755);
    return path;
  });
  const failingCommand = async (): Promise<MediaProcessorOptionsInput> => ({
    engine: { kind: 'command', command: [await failingProgram(), '{wav}'], name: 'failing-speech-engine' },
  });

  return {
    media,
    failingEngine: once(async () => pair(await failingCommand())),
    noEngine: once(() => pair({ engine: { kind: 'none' } })),
    oneSecondLimit: once(async () => pair(await failingCommand(), { jobTimeoutSec: 1 })),
    async close() {
      for (const close of closers.reverse()) await close();
      closers.length = 0;
    },
  };
}
