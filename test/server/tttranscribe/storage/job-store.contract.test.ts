import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobStore, NewJob } from '../../../../server/tttranscribe/jobs/job-store.js';
import { BACKENDS, T0, type BackendUnderTest } from './backends.js';
import { parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { signEngineAuth } from '../../../../server/protocol/engine-auth.js';
import {
  createEngineAuthVerifier,
  createMemoryNonceStore,
  type EngineAuthNonceStore,
} from '../../../../server/tttranscribe/auth/engine-auth-verifier.js';

const URL_OK = 'https://media.example.com/clip.mp4';
let seq = 0;
const newJob = (over: Partial<NewJob> = {}): NewJob => {
  seq += 1;
  return {
    id: `job_CONTRACT${String(seq).padStart(12, '0')}`,
    tokenJti: `jti-${seq}`,
    subject: 'user-1',
    url: URL_OK,
    language: null,
    requestId: null,
    idempotencyKey: null,
    ...over,
  };
};
const A = { owner: 'worker-a', ms: 30_000 };
const B = { owner: 'worker-b', ms: 30_000 };
const RESULT = { transcript: 'hello', engine: 'test-double', model: null };

describe.each(BACKENDS)('JobStore contract: $name', ({ open }) => {
  let b: BackendUnderTest;
  let store: JobStore;
  beforeEach(async () => {
    b = await open();
    store = b.storage.jobs;
  });
  afterEach(() => b.dispose());

  describe('insert', () => {
    it('stores a queued job and reads it back', async () => {
      const job = newJob({ language: 'en', requestId: 'req_1' });
      const r = await store.insert(job);
      expect(r).toMatchObject({
        outcome: 'created',
        job: {
          id: job.id,
          status: 'queued',
          stage: 'queued',
          progress: 0,
          attempts: 0,
          submittedAt: T0,
          leaseOwner: null,
        },
      });
      expect(await store.get(job.id)).toEqual(r.outcome === 'created' ? r.job : undefined);
      expect(await store.get('job_NOTHERE0000')).toBeUndefined();
    });

    it('a second job with the same token is token_used naming the first, and nothing is stored', async () => {
      const first = newJob();
      await store.insert(first);
      expect(await store.insert(newJob({ tokenJti: first.tokenJti }))).toEqual({
        outcome: 'token_used',
        existingJobId: first.id,
      });
      expect(await store.countByState()).toEqual({ queued: 1 });
    });

    it('the same Idempotency-Key and token replays the job; with another token it is key_reused', async () => {
      const first = newJob({ idempotencyKey: 'key_0000000000000001' });
      await store.insert(first);
      const replay = await store.insert(newJob({ tokenJti: first.tokenJti, idempotencyKey: first.idempotencyKey }));
      expect(replay).toMatchObject({ outcome: 'replayed', job: { id: first.id } });
      expect(await store.insert(newJob({ idempotencyKey: first.idempotencyKey }))).toEqual({
        outcome: 'key_reused',
        existingJobId: first.id,
      });
      expect(await store.getByIdempotencyKey('key_0000000000000001')).toMatchObject({
        id: first.id,
        idempotencyKey: 'key_0000000000000001',
      });
      expect(await store.getByIdempotencyKey('key_0000000000000002')).toBeUndefined();
      expect(await store.countByState()).toEqual({ queued: 1 });
    });

    it('concurrent inserts with one key and token, from two store instances, create exactly one job', async () => {
      const other = (await b.another()).jobs;
      const jobs = Array.from({ length: 8 }, () =>
        newJob({ tokenJti: 'jti-shared', idempotencyKey: 'key_concurrent_0001' }),
      );
      const results = await Promise.all(jobs.map((j, i) => (i % 2 ? other : store).insert(j)));
      expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
      const created = results.find((r) => r.outcome === 'created');
      for (const r of results.filter((x) => x.outcome !== 'created'))
        expect(r).toMatchObject({
          outcome: 'replayed',
          job: { id: created?.outcome === 'created' ? created.job.id : '' },
        });
      expect(await store.countByState()).toEqual({ queued: 1 });
    });
  });

  describe('claims and leases', () => {
    it('claims the oldest queued job under a lease, once', async () => {
      const first = newJob();
      await store.insert(first);
      b.clock.ms += 1;
      await store.insert(newJob());
      b.clock.ms += 1;
      const claimed = await store.claimNext(A);
      expect(claimed).toMatchObject({
        id: first.id,
        status: 'processing',
        stage: 'fetching',
        attempts: 1,
        leaseOwner: 'worker-a',
        leaseExpiresAt: T0 + 2 + 30_000,
        startedAt: T0 + 2,
      });
      expect((await store.claimNext(B))?.id).not.toBe(first.id);
      expect(await store.claimNext(B)).toBeUndefined();
      expect(await store.counts()).toEqual({ queued: 0, processing: 2 });
    });

    it('only the lease owner may renew, report progress, complete, fail or requeue', async () => {
      const job = newJob();
      await store.insert(job);
      await store.claimNext(A);
      expect(await store.renewLease(job.id, B)).toBe(false);
      await store.reportProgress(job.id, 'worker-b', 'decoding', 0.5);
      expect(await store.complete(job.id, 'worker-b', RESULT)).toBe(false);
      expect(await store.fail(job.id, 'worker-b', 'transcription_failed', 'x')).toBe(false);
      expect(await store.release(job.id, 'worker-b')).toBe(false);
      expect(await store.get(job.id)).toMatchObject({ status: 'processing', stage: 'fetching', progress: 0 });

      b.clock.ms += 10_000;
      expect(await store.renewLease(job.id, A)).toBe(true);
      expect((await store.get(job.id))?.leaseExpiresAt).toBe(T0 + 40_000);
      await store.reportProgress(job.id, 'worker-a', 'transcribing', 0.6);
      await store.reportProgress(job.id, 'worker-a', 'transcribing', 0.2); // never backwards
      expect(await store.get(job.id)).toMatchObject({ stage: 'transcribing', progress: 0.6 });
      expect(await store.complete(job.id, 'worker-a', RESULT)).toBe(true);
      expect(await store.get(job.id)).toMatchObject({
        status: 'completed',
        stage: 'done',
        progress: 1,
        transcript: 'hello',
        engine: 'test-double',
        leaseOwner: null,
      });
      expect(await store.complete(job.id, 'worker-a', RESULT)).toBe(false); // never completed twice
      expect(await store.renewLease(job.id, A)).toBe(false);
    });

    it('fail records the code; release puts the job back in the queue', async () => {
      const failed = newJob();
      const released = newJob();
      await store.insert(failed);
      await store.insert(released);
      await store.claimNext(A);
      await store.claimNext(A);
      expect(await store.fail(failed.id, 'worker-a', 'media_fetch_failed', 'The host answered 404.')).toBe(true);
      expect(await store.get(failed.id)).toMatchObject({
        status: 'failed',
        errorCode: 'media_fetch_failed',
        errorMessage: 'The host answered 404.',
        completedAt: T0,
      });
      expect(await store.release(released.id, 'worker-a')).toBe(true);
      expect(await store.get(released.id)).toMatchObject({
        status: 'queued',
        stage: 'queued',
        startedAt: null,
        leaseOwner: null,
        attempts: 1,
      });
    });

    it('an expired lease is requeued, then failed with transcription_failed after maxAttempts claims; the old owner can write nothing', async () => {
      const job = newJob();
      await store.insert(job);
      await store.claimNext(A);
      expect(await store.recoverExpiredLeases(2)).toEqual({ requeued: [], failed: [] });
      b.clock.ms = T0 + 30_000;
      expect(await store.recoverExpiredLeases(2)).toEqual({ requeued: [job.id], failed: [] });
      expect(await store.complete(job.id, 'worker-a', RESULT)).toBe(false);
      expect(await store.claimNext(B)).toMatchObject({ id: job.id, attempts: 2, leaseOwner: 'worker-b' });
      b.clock.ms += 30_000;
      expect(await store.recoverExpiredLeases(2)).toEqual({ requeued: [], failed: [job.id] });
      expect(await store.get(job.id)).toMatchObject({
        status: 'failed',
        errorCode: 'transcription_failed',
        errorMessage: expect.stringContaining('interrupted 2 times'),
        leaseOwner: null,
      });
      expect(await store.complete(job.id, 'worker-b', RESULT)).toBe(false);
    });

    it('two stores sweeping the same expired leases at once recover each job exactly once', async () => {
      const other = (await b.another()).jobs;
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const job = newJob();
        ids.push(job.id);
        await store.insert(job);
        await store.claimNext(A);
      }
      b.clock.ms += 31_000;
      const [x, y] = await Promise.all([store.recoverExpiredLeases(3), other.recoverExpiredLeases(3)]);
      expect([...x.requeued, ...y.requeued].sort()).toEqual([...ids].sort());
      expect(await store.counts()).toEqual({ queued: 6, processing: 0 });
    });
  });

  describe('spent X-Engine-Auth nonces', () => {
    it('remember is the replay decision: a live nonce is refused (on another instance too), an expired one accepted again', async () => {
      const nonces = b.storage.nonces;
      const other = (await b.another()).nonces;
      expect(await nonces.remember('nonce-1', T0 + 600_000, T0)).toBe(true);
      expect(await other.remember('nonce-1', T0 + 600_000, T0 + 1)).toBe(false);
      expect(await other.seen('nonce-1', T0 + 1)).toBe(true);
      expect(await other.seen('nonce-2', T0 + 1)).toBe(false);
      expect(await other.seen('nonce-1', T0 + 600_000)).toBe(false);
      expect(await other.remember('nonce-1', T0 + 1_200_000, T0 + 600_000)).toBe(true);
    });

    it('during a secret rotation a captured header is accepted once, whichever key set each replica accepts', async () => {
      const OLD = parseSharedSecret('TTT_SHARED_SECRET', 'tttsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8');
      const NEW = parseSharedSecret('TTT_SHARED_SECRET_NEXT', 'tttsk_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8');
      const verifierOn = (keys: (typeof OLD)[], nonceStore: EngineAuthNonceStore) =>
        createEngineAuthVerifier({ keys, now: () => b.clock.ms, nonceStore });
      const both = verifierOn([OLD, NEW], b.storage.nonces); // a replica still accepting the old secret
      const next = verifierOn([NEW], (await b.another()).nonces); // a replica already on the new one
      const req = { method: 'POST', target: '/transcribe', body: '{}', bearerToken: 'tok' };
      const { header } = signEngineAuth({ keys: [OLD, NEW], ...req, now: () => b.clock.ms });
      expect(await both.verify({ header, ...req })).toEqual({ ok: true, keyId: OLD.keyId });
      expect(await next.check({ header, ...req })).toMatchObject({ ok: false, code: 'engine_auth_replayed' });
      expect(await next.verify({ header, ...req })).toMatchObject({ ok: false, code: 'engine_auth_replayed' });
      // The other way round, and on one in-process store (a single replica reloading its keys).
      const memory = createMemoryNonceStore();
      const second = signEngineAuth({ keys: [OLD, NEW], ...req, now: () => b.clock.ms }).header;
      expect(await verifierOn([NEW], memory).verify({ header: second, ...req })).toEqual({
        ok: true,
        keyId: NEW.keyId,
      });
      expect(await verifierOn([OLD, NEW], memory).verify({ header: second, ...req })).toMatchObject({
        ok: false,
        code: 'engine_auth_replayed',
      });
    });

    it('concurrent remembers of one nonce accept exactly one', async () => {
      const other = (await b.another()).nonces;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? other : b.storage.nonces).remember('nonce-race', T0 + 600_000, T0),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
});
