import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { generateSharedSecret, parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { bearerTokenFromAuthorization, type EngineAuthKey } from '../../server/protocol/engine-auth.js';
import {
  createEngineAuthVerifier,
  type EngineAuthResult,
} from '../../server/tttranscribe/auth/engine-auth-verifier.js';
import { ENGINE_T0_MS, startEngineTestApp, type EngineTestApp } from './engine-app.js';

/** One request the fake TTTranscribe received, with the verdict on its X-Engine-Auth header. */
export interface RecordedRequest {
  readonly method: string;
  /** The request target exactly as received (path and query). */
  readonly target: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** X-Engine-Auth checked with the fake's keys (`check`, so nonces are not consumed). */
  readonly engineAuth: EngineAuthResult;
}

/** What the fake answers: a status and JSON body, or no answer at all, or a dropped connection. */
export type FakeAnswer =
  | {
      readonly status: number;
      readonly body?: unknown;
      readonly headers?: Record<string, string>;
      readonly raw?: string;
    }
  | 'hang'
  | 'destroy';

export type FakeHandler = (request: RecordedRequest) => FakeAnswer;

export interface FakeTtt {
  readonly baseUrl: string;
  /** Every request received, in order (to prove a call was, or was not, made). */
  readonly requests: RecordedRequest[];
  /** Replaces the answering function. */
  respond(handler: FakeHandler): void;
  close(): Promise<void>;
}

/**
 * A stand-in for TTTranscribe on 127.0.0.1:0 built with node:http, for unit tests of the engine's upstream
 * handling (timeouts, 5xx, dropped connections). Each request's X-Engine-Auth is verified with `keys`, so tests
 * can assert the engine signed what it sent. Hanging requests are released on close.
 *
 * @example
 * const ttt = await startFakeTtt({ keys: [TEST_KEY], now: () => clock.ms });
 * ttt.respond(() => ({ status: 500, body: { code: 'internal_error' } }));
 */
export async function startFakeTtt(options: {
  keys: readonly EngineAuthKey[];
  now: () => number;
  handler?: FakeHandler;
}): Promise<FakeTtt> {
  const verifier = createEngineAuthVerifier({ keys: options.keys, now: options.now });
  const requests: RecordedRequest[] = [];
  let handler: FakeHandler = options.handler ?? (() => ({ status: 404, body: { code: 'not_found' } }));
  const hanging = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const target = req.url ?? '/';
      const engineAuth = await verifier.check({
        header: req.headers['x-engine-auth'] as string | undefined,
        method: req.method ?? 'GET',
        target,
        body: body.length > 0 ? body : undefined,
        bearerToken: bearerTokenFromAuthorization(req.headers.authorization),
      });
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        target,
        headers: req.headers,
        body: body.toString('utf8'),
        engineAuth,
      };
      requests.push(recorded);
      const answer = handler(recorded);
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      if (answer === 'destroy') {
        req.socket.destroy();
        return;
      }
      const payload = answer.raw ?? JSON.stringify(answer.body ?? {});
      res.writeHead(answer.status, {
        'content-type':
          answer.raw === undefined
            ? answer.status >= 400
              ? 'application/problem+json'
              : 'application/json'
            : 'text/plain',
        'x-request-id': String(req.headers['x-request-id'] ?? 'req_fake_upstream'),
        ...answer.headers,
      });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    respond: (next) => {
      handler = next;
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A base URL on which nothing listens: connections are refused. The port is a privileged one (below 1024) that
 * refuses a connection now; test servers listen on port 0 and get ports from the ephemeral range, so no other
 * test running in parallel can take it meanwhile (a port that was merely free a moment ago could be).
 *
 * @example
 * const deadUrl = await refusedBaseUrl();
 */
export async function refusedBaseUrl(): Promise<string> {
  for (const port of REFUSING_PORT_CANDIDATES) {
    if (await refuses(port)) return `http://127.0.0.1:${port}`;
  }
  throw new Error(
    `Every candidate port (${REFUSING_PORT_CANDIDATES.join(', ')}) on 127.0.0.1 accepts connections; tests need one that refuses.`,
  );
}

/** Privileged ports without a common service. */
const REFUSING_PORT_CANDIDATES = [9, 1, 19, 49, 59] as const;

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/**
 * A TTTranscribe-shaped problem answer for the fake (request id `req_upstream_0001`).
 *
 * @example
 * ttt.respond(() => upstreamProblem(401, 'engine_auth_key_mismatch', 'Signed with an unknown key id.'));
 */
export function upstreamProblem(
  status: number,
  code: string,
  detail: string,
  details: Record<string, unknown> = {},
): FakeAnswer {
  return {
    status,
    body: {
      type: `/docs/errors.html#${code}`,
      title: code,
      status,
      detail,
      ok: false,
      code,
      requestId: 'req_upstream_0001',
      retryable: false,
      responsibility: 'caller',
      guidance: '',
      details,
    },
    headers: { 'x-request-id': 'req_upstream_0001' },
  };
}

/** An engine in front of a fake TTTranscribe holding the same shared secret, and a way to vend tokens. */
export interface EngineWithFakeTtt {
  readonly be: EngineTestApp;
  readonly ttt: FakeTtt;
  /** Vends a service token for `sub` (each call a new clientRequestId) and returns the vend answer. */
  vend(sub?: string): Promise<{ token: string; tokenId: string }>;
  close(): Promise<void>;
}

/**
 * Starts a fake TTTranscribe and an engine pointed at it, sharing one frozen clock and one fresh shared secret
 * (so the fake can verify every X-Engine-Auth header). Users start with 100 bonus credits unless `env` says otherwise.
 *
 * @example
 * const { be, ttt, vend, close } = await startEngineWithFakeTtt();
 * ttt.respond(() => ({ status: 202, body: { ok: true, jobId: 'job_TEST00000001', status: 'queued', submittedAt } }));
 */
export async function startEngineWithFakeTtt(env: Record<string, string> = {}): Promise<EngineWithFakeTtt> {
  const secret = env['TTT_SHARED_SECRET'] ?? generateSharedSecret();
  const clock = { ms: ENGINE_T0_MS };
  const ttt = await startFakeTtt({ keys: [parseSharedSecret('TTT_SHARED_SECRET', secret)], now: () => clock.ms });
  const be = await startEngineTestApp({
    clock,
    env: { TTT_SHARED_SECRET: secret, TTT_BASE_URL: ttt.baseUrl, SIGNUP_BONUS_CREDITS: '100', ...env },
  });
  let n = 0;
  return {
    be,
    ttt,
    vend: async (sub = 'submit-user') => {
      const { data, error } = await be.client.POST('/v1/vend-token', {
        body: { clientRequestId: `vend-${(n += 1)}` },
        headers: be.bearer(await be.userJwt({ sub })),
      });
      if (!data) throw new Error(`vend failed: ${JSON.stringify(error)}`);
      return data;
    },
    close: async () => {
      await be.close();
      await ttt.close();
    },
  };
}

/** A job the {@link IdempotentTtt} stored, with the key and token that created it. */
export interface StoredJob {
  readonly jobId: string;
  readonly key: string | undefined;
  readonly token: string | undefined;
  status: 'queued' | 'processing' | 'completed' | 'failed';
}

/** The TTTranscribe side of the submission idempotency contract, in memory (see {@link idempotentTtt}). */
export interface IdempotentTtt {
  readonly handler: FakeHandler;
  /** Every job stored, in order. */
  readonly jobs: StoredJob[];
  /** POSTs to /transcribe answered with a replayed job. */
  readonly replays: string[];
}

/**
 * The contract the engine's submissions rely on, as TTTranscribe implements it (issue 18 item 5):
 * - POST /transcribe with an `Idempotency-Key` that already created a job: with the same service token, 202 with
 *   the same job and `Idempotent-Replayed: true`; with another token, 422 `idempotency_key_reused` (the catalog's status).
 * - GET /jobs/by-idempotency-key/{key}: 200 with the job's JobStatus, or 404 `job_not_found` when no job was stored
 *   under the key.
 * - GET /status/{jobId}: the job's JobStatus (404 `job_not_found` for an unknown id).
 * Requests whose X-Engine-Auth does not verify get 401. Job ids are `job_IDEM` + a counter.
 *
 * @example
 * const fake = idempotentTtt();
 * ttt.respond(fake.handler);
 */
export function idempotentTtt(): IdempotentTtt {
  const jobs: StoredJob[] = [];
  const replays: string[] = [];
  const at = new Date(ENGINE_T0_MS).toISOString();
  const statusOf = (job: StoredJob) => ({
    ok: true,
    jobId: job.jobId,
    status: job.status,
    stage: job.status === 'completed' ? 'done' : 'queued',
    progress: job.status === 'completed' ? 1 : 0,
    url: 'https://media.example.com/a.mp4',
    language: 'en',
    submittedAt: at,
    startedAt: null,
    updatedAt: at,
    completedAt: job.status === 'completed' || job.status === 'failed' ? at : null,
    ...(job.status === 'completed' ? { transcript: 'hello' } : {}),
    ...(job.status === 'failed'
      ? { error: { code: 'media_fetch_failed', message: 'The media could not be fetched.' } }
      : {}),
  });
  const handler: FakeHandler = (req) => {
    if (!req.engineAuth.ok) return upstreamProblem(401, 'engine_auth_invalid', 'X-Engine-Auth did not verify.');
    const header = req.headers['idempotency-key'];
    const key = typeof header === 'string' ? header : undefined;
    const authorization = req.headers.authorization;
    const token = bearerTokenFromAuthorization(typeof authorization === 'string' ? authorization : undefined);
    if (req.method === 'POST' && req.target === '/transcribe') {
      const existing = key === undefined ? undefined : jobs.find((j) => j.key === key);
      if (existing) {
        if (existing.token !== token)
          return upstreamProblem(
            422,
            'idempotency_key_reused',
            'The Idempotency-Key was used with another service token.',
          );
        replays.push(existing.jobId);
        return {
          status: 202,
          body: { ok: true, jobId: existing.jobId, status: existing.status, submittedAt: at },
          headers: { 'idempotent-replayed': 'true' },
        };
      }
      const job: StoredJob = {
        jobId: `job_IDEM${String(jobs.length + 1).padStart(8, '0')}`,
        key,
        token,
        status: 'queued',
      };
      jobs.push(job);
      return { status: 202, body: { ok: true, jobId: job.jobId, status: job.status, submittedAt: at } };
    }
    const byKey = /^\/jobs\/by-idempotency-key\/([^/?]+)$/.exec(req.target);
    if (req.method === 'GET' && byKey) {
      const job = jobs.find((j) => j.key === decodeURIComponent(byKey[1] ?? ''));
      return job
        ? { status: 200, body: statusOf(job) }
        : upstreamProblem(404, 'job_not_found', 'No job was stored under this Idempotency-Key.');
    }
    const byId = /^\/status\/(job_\w+)$/.exec(req.target);
    if (req.method === 'GET' && byId) {
      const job = jobs.find((j) => j.jobId === byId[1]);
      return job
        ? { status: 200, body: statusOf(job) }
        : upstreamProblem(404, 'job_not_found', `No job with id ${byId[1]} exists.`, { jobId: byId[1] });
    }
    return upstreamProblem(404, 'not_found', 'No such route.');
  };
  return { handler, jobs, replays };
}
