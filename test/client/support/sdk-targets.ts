/**
 * The three targets of the SDK scenarios: the real stack in-process, the Prism mocks and the sandbox
 * (server/sandbox), each with a client whose requests are recorded and, on the mocks, answered as `Prefer` asks
 * (on the sandbox, a rule's `fault` is sent as the sandbox-only fault header).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startMocks, type RunningMocks } from '../../../mocks/start-mocks.js';
import { startSandbox } from '../../../server/sandbox/create-sandbox.js';
import { FAULT_HEADER, SANDBOX_MEDIA } from '../../../server/sandbox/magic-inputs.js';
import { createPluctClient, type PluctClient } from '../../../client/sdk/pluct-client.js';
import { JobFailure, type JobProcessor } from '../../../server/tttranscribe/jobs/job-processor.js';
import { succeedingProcessor } from '../../helpers/ttt-processors.js';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { createResponseChecker } from '../../contract/support/response-checker.js';
import { fakeJwt } from './fake-engine.js';
import { startRealStack, type RealStack } from './real-stack.js';

export type Kind = 'real stack' | 'prism mocks' | 'sandbox';

/** Answer a matching request with a documented response (mocks only); `times` limits it to the first n matches. */
export interface Forced {
  readonly method: string;
  readonly path: RegExp;
  readonly prefer: string;
  readonly times?: number;
  /** On the sandbox: the `Pluct-Sandbox-Fault` that produces the same answer (rules without one do not apply there). */
  readonly fault?: string;
}

export interface Target {
  readonly kind: Kind;
  readonly engineUrl: string;
  /** A user token: real (HS256 with the stack's secret) or JWT-shaped for the mocks, which only check presence. */
  userToken(sub: string, options?: { expired?: boolean }): Promise<string>;
  /** A client whose requests are recorded; `forced` answers only apply to the mocks. */
  client(getUserToken: () => Promise<string>, forced?: readonly Forced[]): { pluct: PluctClient; sent: Request[] };
  readonly stack?: RealStack;
  /** The sandbox only: every answer it gave that does not match the spec (the response checker's findings). */
  readonly violations?: string[];
  /** Media that transcribes to "and so the story begins", and media that fails with media_fetch_failed (a 404). */
  readonly media: { readonly ok: string; readonly missing: string };
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

/** The contract suites' response checker over the engine's spec (every sandbox answer goes through it). */
const checkEngine = createResponseChecker(
  JSON.parse(
    readFileSync(new URL('../../../generated/business-engine/openapi.json', import.meta.url), 'utf8'),
  ) as OpenApiDocument,
);

function recordingClient(
  engineUrl: string,
  getUserToken: () => Promise<string>,
  forced: readonly Forced[],
  via: 'prefer' | 'fault' = 'prefer',
  checked?: string[],
) {
  const sent: Request[] = [];
  const used = new Map<Forced, number>();
  const rules = via === 'fault' ? forced.filter((f) => f.fault !== undefined) : forced;
  const fetchImpl = (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname;
    const rule = rules.find(
      (f) =>
        f.method === request.method && f.path.test(path) && (f.times === undefined || (used.get(f) ?? 0) < f.times),
    );
    if (rule) {
      used.set(rule, (used.get(rule) ?? 0) + 1);
      if (via === 'fault') request.headers.set(FAULT_HEADER, rule.fault as string);
      else request.headers.set('Prefer', rule.prefer);
    }
    sent.push(request.clone());
    if (!checked) return fetch(request);
    const { method } = request;
    return fetch(request).then(async (response) => {
      const body = await response.clone().text();
      checked.push(
        ...checkEngine({ method, path, status: response.status, headers: response.headers, body }).map(
          (v) => `${method} ${path} ${response.status}: ${v.pointer} ${v.message}`,
        ),
      );
      return response;
    });
  };
  return { pluct: createPluctClient({ baseUrl: engineUrl, getUserToken, fetch: fetchImpl }), sent };
}

export async function startTarget(kind: Kind): Promise<Target> {
  if (kind === 'real stack') {
    const stack = await startRealStack({ processor });
    return {
      kind,
      engineUrl: stack.engineUrl,
      stack,
      media: { ok: MEDIA_OK, missing: MEDIA_MISSING },
      userToken: (sub, o = {}) => stack.userJwt(sub, o.expired ? { expiresInSec: -120 } : {}),
      client: (getUserToken) => recordingClient(stack.engineUrl, getUserToken, []),
      close: () => stack.close(),
    };
  }
  if (kind === 'sandbox') {
    const sandbox = await startSandbox({ port: 0, jobDurationMs: 100, logLevel: 'silent' });
    const violations: string[] = [];
    return {
      kind,
      engineUrl: sandbox.url,
      media: {
        ok: `${SANDBOX_MEDIA}/say/and-so-the-story-begins`,
        missing: `${SANDBOX_MEDIA}/fail/media_fetch_failed`,
      },
      userToken: (sub, o = {}) => sandbox.userJwt({ sub, ...(o.expired ? { expiresInSec: -120 } : {}) }),
      client: (getUserToken, forced = []) => recordingClient(sandbox.url, getUserToken, forced, 'fault', violations),
      violations,
      close: () => sandbox.close(),
    };
  }
  const mocks: RunningMocks = await startMocks();
  return {
    kind,
    engineUrl: mocks.engineUrl,
    media: { ok: MEDIA_OK, missing: MEDIA_MISSING },
    userToken: (sub, o = {}) => {
      const now = Math.floor(Date.now() / 1000);
      const exp = o.expired ? now - 120 : now + 900;
      return Promise.resolve(
        fakeJwt({ sub, scope: 'ttt:transcribe credits:read', iat: exp - 900, exp, jti: randomUUID() }),
      );
    },
    client: (getUserToken, forced = []) => recordingClient(mocks.engineUrl, getUserToken, forced),
    close: () => mocks.stop(),
  };
}

export const prefer = (method: string, path: RegExp, code: number, example: string, times?: number): Forced => ({
  method,
  path,
  prefer: `code=${code}, example=${example}`,
  ...(times !== undefined ? { times } : {}),
});
