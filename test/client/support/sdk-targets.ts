/**
 * The two targets of the SDK scenarios: the real stack in-process and the Prism mocks, each with a client whose
 * requests are recorded and, on the mocks, answered as `Prefer` asks.
 */
import { randomUUID } from 'node:crypto';
import { startMocks, type RunningMocks } from '../../../mocks/start-mocks.js';
import { createPluctClient, type PluctClient } from '../../../client/sdk/pluct-client.js';
import { JobFailure, type JobProcessor } from '../../../server/tttranscribe/jobs/job-processor.js';
import { succeedingProcessor } from '../../helpers/ttt-processors.js';
import { fakeJwt } from './fake-engine.js';
import { startRealStack, type RealStack } from './real-stack.js';

export type Kind = 'real stack' | 'prism mocks';

/** Answer a matching request with a documented response (mocks only); `times` limits it to the first n matches. */
export interface Forced {
  readonly method: string;
  readonly path: RegExp;
  readonly prefer: string;
  readonly times?: number;
}

export interface Target {
  readonly kind: Kind;
  readonly engineUrl: string;
  /** A user token: real (HS256 with the stack's secret) or JWT-shaped for the mocks, which only check presence. */
  userToken(sub: string, options?: { expired?: boolean }): Promise<string>;
  /** A client whose requests are recorded; `forced` answers only apply to the mocks. */
  client(getUserToken: () => Promise<string>, forced?: readonly Forced[]): { pluct: PluctClient; sent: Request[] };
  readonly stack?: RealStack;
  close(): Promise<void>;
}

export const MEDIA_OK = 'https://media.example.com/clip.mp4';
export const MEDIA_MISSING = 'https://media.example.com/missing.mp4';
export const FAST_POLL = { initialDelayMs: 20, maxDelayMs: 200, timeoutMs: 15_000 };

// The real TTTranscribe's double: a "missing" URL fails like a 404 from the media host, anything else succeeds.
const processor: JobProcessor = async (job, ctx) => {
  if (job.url.includes('missing')) {
    ctx.onProgress('fetching', 0.1);
    throw new JobFailure('media_fetch_failed', 'The media host answered 404 Not Found; check the link.');
  }
  return succeedingProcessor()(job, ctx);
};

function recordingClient(engineUrl: string, getUserToken: () => Promise<string>, forced: readonly Forced[]) {
  const sent: Request[] = [];
  const used = new Map<Forced, number>();
  const fetchImpl = (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const rule = forced.find((f) => f.method === request.method && f.path.test(path) && (f.times === undefined || (used.get(f) ?? 0) < f.times));
    if (rule) {
      used.set(rule, (used.get(rule) ?? 0) + 1);
      request.headers.set('Prefer', rule.prefer);
    }
    sent.push(request.clone());
    return fetch(request);
  };
  return { pluct: createPluctClient({ baseUrl: engineUrl, getUserToken, fetch: fetchImpl }), sent };
}

export async function startTarget(kind: Kind): Promise<Target> {
  if (kind === 'real stack') {
    const stack = await startRealStack({ processor });
    return {
      kind, engineUrl: stack.engineUrl, stack,
      userToken: (sub, o = {}) => stack.userJwt(sub, o.expired ? { expiresInSec: -120 } : {}),
      client: (getUserToken) => recordingClient(stack.engineUrl, getUserToken, []),
      close: () => stack.close(),
    };
  }
  const mocks: RunningMocks = await startMocks();
  return {
    kind, engineUrl: mocks.engineUrl,
    userToken: (sub, o = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const exp = o.expired ? now - 120 : now + 900;
      return Promise.resolve(fakeJwt({ sub, scope: 'ttt:transcribe credits:read', iat: exp - 900, exp, jti: randomUUID() }));
    },
    client: (getUserToken, forced = []) => recordingClient(mocks.engineUrl, getUserToken, forced),
    close: () => mocks.stop(),
  };
}

export const prefer = (method: string, path: RegExp, code: number, example: string, times?: number): Forced =>
  ({ method, path, prefer: `code=${code}, example=${example}`, ...(times !== undefined ? { times } : {}) });
