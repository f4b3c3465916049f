/**
 * The sandbox's magic inputs: for every error catalog code and every job failure code, what an app sends through
 * the normal API to get it. The docs page "Testing your app in the sandbox" renders its table from this registry
 * and the catalog, and a test runs every recipe against a sandbox and checks the code it produces.
 */
import type { ErrorCode, JobFailureCode } from '../../generated/errors.js';
import { generateIntegrationToken } from '../business-engine/integrations/integration-token-format.js';
import { SANDBOX_FAULT_HEADER } from '../shared/http/sandbox-fault-header.js';

/** The reserved media host: URLs on it are never fetched; their path chooses the job's outcome. */
export const SANDBOX_MEDIA_HOST = 'media.sandbox.pluct.test';
export const SANDBOX_MEDIA = `https://${SANDBOX_MEDIA_HOST}`;
/** A user whose subject starts with this prefix starts with no credits (everyone else starts with the sandbox's starting credits). */
export const NO_CREDITS_PREFIX = 'nocredits-';
/** The sandbox-only request header that injects faults (refused by the real services; defined once, in shared). */
export const FAULT_HEADER = SANDBOX_FAULT_HEADER;
/** The transcript of a sandbox job whose path names no words (`/say/...`). */
export const DEFAULT_TRANSCRIPT = 'the quick brown fox jumps over the lazy dog';
/** A well-formed integration token (valid checksum) that no sandbox ever issues. */
export const UNKNOWN_INTEGRATION_TOKEN = generateIntegrationToken((size) => new Uint8Array(size).fill(7));

/** One HTTP request of a recipe; `{{name}}` in path, authorization, headers and body strings is replaced. */
export interface MagicRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  /** The Authorization header value; omitted: none is sent. */
  readonly authorization?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body, or a raw string sent as is (with `headers['Content-Type']`). */
  readonly body?: unknown;
  /** Variables to keep from the response body: name -> dotted field path (`token`, `jobId`). */
  readonly save?: Readonly<Record<string, string>>;
  /** Repeat the request until this body field has one of these values (polling a job). */
  readonly until?: { readonly field: string; readonly values: readonly string[] };
}

/** How an app gets one code in the sandbox. */
export interface MagicInput {
  readonly code: ErrorCode | JobFailureCode;
  readonly kind: 'problem' | 'job_failure';
  /** What to send, one line of markdown for the docs table. */
  readonly input: string;
  /**
   * The requests, in order; the last one answers the code (a problem body, or a job status whose `error.code` is
   * it). Variables given by whoever runs it: `{{userJwt}}` (a fresh user with starting credits), `{{sub}}` (its
   * subject) and `{{uid}}` (a unique string).
   */
  readonly steps: readonly MagicRequest[];
}

/** A catalog code no app can cause by design, and why. */
export interface UnreachableCode {
  readonly code: ErrorCode;
  readonly reason: string;
}

const user = 'Bearer {{userJwt}}';
// Ids no sandbox ever issues (well-formed, so the request passes validation and reaches the look-up).
const MISSING_JOB_ID = 'job_doesnotexist0001';
const MISSING_INTEGRATION_TOKEN_ID = 'itk_01JD0000000000000000000000';
const vend = (save = 'serviceToken'): MagicRequest => ({
  method: 'POST',
  path: '/v1/vend-token',
  authorization: user,
  body: { clientRequestId: `${save}-{{uid}}` },
  save: { [save]: 'token' },
});
const submit = (url: string, token = '{{serviceToken}}', headers: Record<string, string> = {}): MagicRequest => ({
  method: 'POST',
  path: '/ttt/transcribe',
  authorization: `Bearer ${token}`,
  body: { url },
  headers,
  save: { jobId: 'jobId' },
});
const mint = (body: Record<string, unknown>): MagicRequest => ({
  method: 'POST',
  path: '/sandbox/tokens',
  body,
  save: { jwt: 'token' },
});
const balance = (authorization?: string, headers?: Record<string, string>): MagicRequest => ({
  method: 'GET',
  path: '/v1/credits/balance',
  ...(authorization ? { authorization } : {}),
  ...(headers ? { headers } : {}),
});
const fault = (value: string) => ({ [FAULT_HEADER]: value });
const problem = (code: ErrorCode, input: string, steps: MagicRequest[]): MagicInput => ({
  code,
  kind: 'problem',
  input,
  steps,
});

const PROBLEMS: MagicInput[] = [
  problem('missing_authorization', '`GET /v1/credits/balance` without an `Authorization` header', [balance()]),
  problem('malformed_authorization', '`Authorization: Basic c2FuZGJveDpzYW5kYm94` (any scheme but Bearer)', [
    balance('Basic c2FuZGJveDpzYW5kYm94'),
  ]),
  problem('invalid_token', '`Authorization: Bearer not-a-jwt` (or a JWT signed with any other secret)', [
    balance('Bearer not-a-jwt'),
  ]),
  problem(
    'token_expired',
    'a user JWT from `POST /sandbox/tokens` with `{"expiresInSec": -120}`; or the fault `token_expired`',
    [mint({ sub: '{{sub}}', expiresInSec: -120 }), balance('Bearer {{jwt}}')],
  ),
  problem('token_not_yet_valid', 'a user JWT from `POST /sandbox/tokens` with `{"notBeforeInSec": 600}`', [
    mint({ sub: '{{sub}}', notBeforeInSec: 600 }),
    balance('Bearer {{jwt}}'),
  ]),
  problem('invalid_token_claims', 'a user JWT from `POST /sandbox/tokens` with `{"omit": ["sub"]}`', [
    mint({ omit: ['sub'] }),
    balance('Bearer {{jwt}}'),
  ]),
  problem('insufficient_scope', '`POST /v1/vend-token` with a user JWT minted with `{"scope": "credits:read"}`', [
    mint({ sub: '{{sub}}', scope: 'credits:read' }),
    {
      method: 'POST',
      path: '/v1/vend-token',
      authorization: 'Bearer {{jwt}}',
      body: { clientRequestId: 'scope-{{uid}}' },
    },
  ]),
  problem('user_mismatch', '`POST /v1/vend-token` with `"userId": "someone-else"` in the body', [
    {
      method: 'POST',
      path: '/v1/vend-token',
      authorization: user,
      body: { clientRequestId: 'mismatch-{{uid}}', userId: 'someone-else' },
    },
  ]),
  problem('forbidden', "`GET /ttt/status/{jobId}` of another user's job", [
    vend(),
    submit(`${SANDBOX_MEDIA}/say/hello`),
    mint({ sub: 'other-{{uid}}' }),
    { method: 'GET', path: '/ttt/status/{{jobId}}', authorization: 'Bearer {{jwt}}' },
  ]),
  problem('service_token_required', '`POST /ttt/transcribe` with the user JWT instead of a service token', [
    { method: 'POST', path: '/ttt/transcribe', authorization: user, body: { url: `${SANDBOX_MEDIA}/say/hello` } },
  ]),
  problem('service_token_already_used', 'a second `POST /ttt/transcribe` with the same service token', [
    vend(),
    submit(`${SANDBOX_MEDIA}/say/hello`),
    submit(`${SANDBOX_MEDIA}/say/hello`),
  ]),
  problem(
    'service_token_revoked',
    'a service token whose submission failed upstream (fault `upstream=down`), sent again',
    [
      vend(),
      submit(`${SANDBOX_MEDIA}/say/hello`, '{{serviceToken}}', fault('upstream=down')),
      submit(`${SANDBOX_MEDIA}/say/hello`),
    ],
  ),
  problem('credential_type_mismatch', '`GET /v1/credits/balance` with a service token instead of the user JWT', [
    vend(),
    balance('Bearer {{serviceToken}}'),
  ]),
  problem('integration_token_malformed', '`Authorization: Bearer yit_not-a-real-token`', [
    balance('Bearer yit_not-a-real-token'),
  ]),
  problem(
    'integration_token_unknown',
    `\`Authorization: Bearer ${UNKNOWN_INTEGRATION_TOKEN}\` (well-formed, never issued)`,
    [balance(`Bearer ${UNKNOWN_INTEGRATION_TOKEN}`)],
  ),
  problem('integration_token_revoked', 'an integration token after `DELETE /v1/integrations/tokens/{tokenId}`', [
    {
      method: 'POST',
      path: '/v1/integrations/tokens',
      authorization: user,
      body: { description: 'sandbox', scopes: ['credits:read'] },
      save: { itk: 'token', itkId: 'id' },
    },
    { method: 'DELETE', path: '/v1/integrations/tokens/{{itkId}}', authorization: user },
    balance('Bearer {{itk}}'),
  ]),
  problem(
    'integration_token_expired',
    'the fault `error=integration_token_expired` on a call made with an integration token',
    [balance(user, fault('error=integration_token_expired'))],
  ),
  problem('integration_token_not_found', `\`DELETE /v1/integrations/tokens/${MISSING_INTEGRATION_TOKEN_ID}\``, [
    { method: 'DELETE', path: `/v1/integrations/tokens/${MISSING_INTEGRATION_TOKEN_ID}`, authorization: user },
  ]),
  problem('invalid_request', '`GET /v1/credits/ledger?limit=0`; or an unknown fault in the sandbox header', [
    { method: 'GET', path: '/v1/credits/ledger?limit=0', authorization: user },
  ]),
  problem('unsupported_url', `\`POST /ttt/transcribe\` with a URL on any host but \`${SANDBOX_MEDIA_HOST}\``, [
    vend(),
    submit('https://cdn.example.com/clip.mp4'),
  ]),
  problem('payload_too_large', '`POST /v1/vend-token` with a JSON body over 16 KB', [
    {
      method: 'POST',
      path: '/v1/vend-token',
      authorization: user,
      body: { clientRequestId: 'big-{{uid}}', padding: 'x'.repeat(17 * 1024) },
    },
  ]),
  problem('request_header_too_large', 'any request whose headers exceed 16 KB (here a 20 KB `X-Padding` header)', [
    {
      method: 'GET',
      path: '/v1/credits/balance',
      authorization: user,
      headers: { 'X-Padding': 'x'.repeat(20 * 1024) },
    },
  ]),
  problem('unsupported_media_type', '`POST /v1/vend-token` with `Content-Type: text/plain`', [
    {
      method: 'POST',
      path: '/v1/vend-token',
      authorization: user,
      headers: { 'Content-Type': 'text/plain' },
      body: 'hello',
    },
  ]),
  problem('not_found', '`GET /v1/no-such-thing`', [{ method: 'GET', path: '/v1/no-such-thing', authorization: user }]),
  problem('job_not_found', `\`GET /ttt/status/${MISSING_JOB_ID}\``, [
    { method: 'GET', path: `/ttt/status/${MISSING_JOB_ID}`, authorization: user },
  ]),
  problem('method_not_allowed', '`DELETE /v1/credits/balance`', [
    { method: 'DELETE', path: '/v1/credits/balance', authorization: user },
  ]),
  problem(
    'insufficient_credits',
    `\`POST /v1/vend-token\` as a user whose \`sub\` starts with \`${NO_CREDITS_PREFIX}\``,
    [
      mint({ sub: `${NO_CREDITS_PREFIX}{{uid}}` }),
      {
        method: 'POST',
        path: '/v1/vend-token',
        authorization: 'Bearer {{jwt}}',
        body: { clientRequestId: 'broke-{{uid}}' },
      },
    ],
  ),
  problem('idempotency_key_reused', 'two `POST /v1/vend-token` with the same `clientRequestId` and different bodies', [
    { method: 'POST', path: '/v1/vend-token', authorization: user, body: { clientRequestId: 'same-{{uid}}' } },
    {
      method: 'POST',
      path: '/v1/vend-token',
      authorization: user,
      body: { clientRequestId: 'same-{{uid}}', userId: '{{sub}}' },
    },
  ]),
  problem('idempotency_in_progress', 'the fault `error=idempotency_in_progress` on `POST /v1/vend-token`', [
    {
      method: 'POST',
      path: '/v1/vend-token',
      authorization: user,
      headers: fault('error=idempotency_in_progress'),
      body: { clientRequestId: 'busy-{{uid}}' },
    },
  ]),
  problem('rate_limited', 'the fault `rate_limited=7` (429 with `Retry-After: 7`); or over 30 vends a minute', [
    {
      method: 'POST',
      path: '/v1/vend-token',
      authorization: user,
      headers: fault('rate_limited=7'),
      body: { clientRequestId: 'limit-{{uid}}' },
    },
  ]),
  problem('upstream_auth_failure', 'the fault `upstream=auth` on `POST /ttt/transcribe` or `GET /ttt/status/{jobId}`', [
    vend(),
    submit(`${SANDBOX_MEDIA}/say/hello`, '{{serviceToken}}', fault('upstream=auth')),
  ]),
  problem('upstream_error', 'the fault `upstream=error` on `POST /ttt/transcribe` or `GET /ttt/status/{jobId}`', [
    vend(),
    submit(`${SANDBOX_MEDIA}/say/hello`, '{{serviceToken}}', fault('upstream=error')),
  ]),
  problem('upstream_unavailable', 'the fault `upstream=down` on `POST /ttt/transcribe` or `GET /ttt/status/{jobId}`', [
    vend(),
    submit(`${SANDBOX_MEDIA}/say/hello`, '{{serviceToken}}', fault('upstream=down')),
  ]),
  problem('upstream_timeout', 'the fault `upstream=timeout` on `POST /ttt/transcribe` or `GET /ttt/status/{jobId}`', [
    vend(),
    submit(`${SANDBOX_MEDIA}/say/hello`, '{{serviceToken}}', fault('upstream=timeout')),
  ]),
  problem('internal_error', 'the fault `error=internal_error` on any operation', [
    balance(user, fault('error=internal_error')),
  ]),
  problem('service_unavailable', 'the fault `error=service_unavailable` on any operation', [
    balance(user, fault('error=service_unavailable')),
  ]),
];

const JOB_FAILURE_CODES: readonly JobFailureCode[] = [
  'media_fetch_failed',
  'media_too_large',
  'unsupported_media',
  'transcription_failed',
  'transcription_engine_unavailable',
  'job_timed_out',
];

const JOB_FAILURES: MagicInput[] = JOB_FAILURE_CODES.map((code) => ({
  code,
  kind: 'job_failure',
  input: `submit \`${SANDBOX_MEDIA}/fail/${code}\` (the job fails after the job duration)`,
  steps: [
    vend(),
    submit(`${SANDBOX_MEDIA}/fail/${code}`),
    {
      method: 'GET',
      path: '/ttt/status/{{jobId}}',
      authorization: user,
      until: { field: 'status', values: ['completed', 'failed'] },
    },
  ],
}));

/** Every magic input, problems first, in catalog order of their groups. */
export const MAGIC_INPUTS: readonly MagicInput[] = [...PROBLEMS, ...JOB_FAILURES];

const GATEWAY_ONLY =
  'X-Engine-Auth is between the Business Engine and TTTranscribe only: the engine signs every upstream request with a ' +
  "secret an app never holds, so no app request can carry, omit or spoil it. An app sees a refusal of the engine's signature as " +
  '`502 upstream_auth_failure` (fault `upstream=auth`).';

/** Catalog codes no app can cause, by design, with the reason (the docs table lists them too). */
export const UNREACHABLE_BY_DESIGN: readonly UnreachableCode[] = [
  { code: 'missing_engine_auth_header', reason: GATEWAY_ONLY },
  { code: 'invalid_engine_auth_header', reason: GATEWAY_ONLY },
  { code: 'engine_auth_key_mismatch', reason: GATEWAY_ONLY },
  { code: 'engine_auth_timestamp_skewed', reason: GATEWAY_ONLY },
  { code: 'engine_auth_replayed', reason: GATEWAY_ONLY },
];

/** What a sandbox media URL asks for: how long the job runs, and its transcript or its failure. */
export interface SandboxMedia {
  readonly durationMs: number | undefined;
  readonly failure: JobFailureCode | undefined;
  readonly transcript: string;
}

/**
 * Reads a sandbox media URL's path: `/say/<words-with-dashes>` sets the transcript (`hello-world` → "hello world"),
 * `/fail/<job failure code>` fails the job with that code, `/delay/<ms>` sets the job's duration; segments combine
 * (`/delay/5000/fail/transcription_failed`). Anything else completes with {@link DEFAULT_TRANSCRIPT}.
 *
 * @example
 * parseSandboxMedia(new URL('https://media.sandbox.pluct.test/delay/200/say/hello-world'));
 * // { durationMs: 200, failure: undefined, transcript: 'hello world' }
 */
export function parseSandboxMedia(url: URL, isFailureCode: (code: string) => code is JobFailureCode): SandboxMedia {
  const parts = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  let durationMs: number | undefined;
  let failure: JobFailureCode | undefined;
  let transcript = DEFAULT_TRANSCRIPT;
  for (let i = 0; i < parts.length; i += 1) {
    const [word, value] = [parts[i], parts[i + 1]];
    if (word === 'delay' && value !== undefined && /^\d{1,7}$/.test(value)) {
      durationMs = Number(value);
      i += 1;
    } else if (word === 'fail' && value !== undefined && isFailureCode(value)) {
      failure = value;
      i += 1;
    } else if (word === 'say' && value !== undefined) {
      transcript = value.replace(/[-_+]+/g, ' ').trim() || DEFAULT_TRANSCRIPT;
      i += 1;
    }
  }
  return { durationMs, failure, transcript };
}
