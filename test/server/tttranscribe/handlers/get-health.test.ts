import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNoEngine } from '../../../../server/tttranscribe/engines/create-engine.js';
import type { TranscriptionEngine } from '../../../../server/tttranscribe/engines/transcription-engine.js';
import { createTranscriberProbe } from '../../../../server/tttranscribe/transcriber-status.js';
import {
  startTttTestApp,
  T0_MS,
  TEST_KEY,
  TEST_KEY_NEXT,
  TEST_SECRET,
  TEST_SECRET_NEXT,
  type TttTestApp,
} from '../../../helpers/ttt-app.js';

let ttt: TttTestApp;
let available = true;

beforeAll(async () => {
  ttt = await startTttTestApp({
    keys: [TEST_KEY, TEST_KEY_NEXT],
    transcriber: () =>
      Promise.resolve(
        available
          ? { engine: 'pocketsphinx', model: 'en-us', available: true, reason: null }
          : {
              engine: 'pocketsphinx',
              model: 'en-us',
              available: false,
              reason: 'pocketsphinx_continuous is not installed',
            },
      ),
  });
});
afterAll(async () => {
  await ttt.close();
});

describe('GET /health', () => {
  it('answers without credentials: build, clock, transcriber and queue, no secret or key id', async () => {
    ttt.clock.ms = T0_MS + 90_000;
    await ttt.client.POST('/transcribe', {
      body: { url: 'https://media.example.com/a.mp3' },
      headers: { Authorization: `Bearer ${await ttt.issuer.mint()}` },
    });
    const { data, response } = await ttt
      .clientWith({ keys: null })
      .GET('/health', { headers: { 'X-Request-ID': 'health-check-0001' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('health-check-0001');
    expect(data).toEqual({
      ok: true,
      service: 'tttranscribe',
      build: { version: expect.any(String), gitSha: null, builtAt: null },
      uptimeSec: 90,
      serverTime: new Date(T0_MS + 90_000).toISOString(),
      instanceId: expect.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/),
      transcriber: { engine: 'pocketsphinx', model: 'en-us', available: true, reason: null },
      jobs: { queued: 1, processing: 0 },
    });
    // The replica names itself the same way in the body and in the header every response carries.
    expect(response.headers.get('x-instance-id')).toBe(data?.instanceId);
    const text = JSON.stringify(data);
    for (const secret of [TEST_SECRET, TEST_SECRET_NEXT, TEST_KEY.keyId]) expect(text).not.toContain(secret);
    // No runtime version to an unauthenticated caller.
    expect(text).not.toContain(process.version);
  });

  it('reports an unavailable engine and why', async () => {
    available = false;
    const { data } = await ttt.client.GET('/health');
    expect(data?.transcriber).toEqual({
      engine: 'pocketsphinx',
      model: 'en-us',
      available: false,
      reason: 'pocketsphinx_continuous is not installed',
    });
    available = true;
  });
});

describe('GET /.well-known/engine-auth', () => {
  it('lists the accepted key ids (never keys), tolerance, replay window and clock', async () => {
    ttt.clock.ms = T0_MS;
    const { data } = await ttt.clientWith({ keys: null }).GET('/.well-known/engine-auth');
    expect(data).toEqual({
      ok: true,
      version: 'v1',
      acceptedKeyIds: [TEST_KEY.keyId, TEST_KEY_NEXT.keyId],
      toleranceSec: 300,
      replayWindowSec: 600,
      serverTime: T0_MS / 1000,
    });
    expect(JSON.stringify(data)).not.toContain(TEST_SECRET.slice(6));
  });
});

describe('createTranscriberProbe', () => {
  const engine = (over: Partial<TranscriptionEngine>): TranscriptionEngine => ({
    name: 'fake',
    model: 'm1',
    probe: () => Promise.resolve({ available: true }),
    transcribe: () => Promise.reject(new Error('unused')),
    ...over,
  });

  it('no engine configured -> unavailable, saying how to configure one', async () => {
    const status = await createTranscriberProbe({ engine: createNoEngine() })();
    expect(status).toMatchObject({
      engine: 'none',
      model: null,
      available: false,
      reason: expect.stringContaining('TTT_TRANSCRIBER'),
    });
  });

  it('an engine without its audio decoder -> unavailable naming the decoder', async () => {
    const status = await createTranscriberProbe({ engine: engine({}), ffmpegPath: '/nonexistent/ffmpeg' })();
    expect(status).toEqual({
      engine: 'fake',
      model: 'm1',
      available: false,
      reason: expect.stringContaining('/nonexistent/ffmpeg'),
    });
  });

  it('a probe that throws -> unavailable, not a 500', async () => {
    const status = await createTranscriberProbe({
      engine: engine({ probe: () => Promise.reject(new Error('boom')) }),
    })();
    expect(status).toMatchObject({ available: false, reason: 'the engine probe failed: boom' });
  });

  it('caches the result for 10 s', async () => {
    const clock = { ms: 0 };
    let calls = 0;
    const probe = createTranscriberProbe({
      engine: engine({
        probe: () => {
          calls += 1;
          return Promise.resolve({ available: false, reason: 'x' });
        },
      }),
      now: () => clock.ms,
    });
    await probe();
    clock.ms = 9_999;
    await probe();
    expect(calls).toBe(1);
    clock.ms = 10_000;
    await probe();
    expect(calls).toBe(2);
  });
});
