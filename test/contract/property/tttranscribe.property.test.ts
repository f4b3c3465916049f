// Generated negative and property tests for TTTranscribe, from generated/tttranscribe/openapi.json alone:
// for every operation, valid and invalid inputs, ids of nothing the caller owns and the credential matrix,
// against the real app (test-double processor, frozen clock, response validation on, TTT_METRICS_TOKEN set),
// and GET /metrics of an app without TTT_METRICS_TOKEN. Fixed seed (CONTRACT_SEED), CONTRACT_RUNS runs each.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { BODY_LIMIT_BYTES } from '../../../server/tttranscribe/app.js';
import { createCleanupStack } from '../../helpers/cleanup-stack.js';
import { startTttTestApp, TEST_KEY, TEST_SECRET, type TttTestApp } from '../../helpers/ttt-app.js';
import { mintUserJwt } from '../../helpers/user-tokens.js';
import { assertContract, propertyParameters } from '../support/contract-assertions.js';
import { tttCredentialVariants, type CredentialVariant } from '../support/credential-variants.js';
import { send } from '../support/exchange.js';
import { exampleInput, invalidInput, validInput } from '../support/request-inputs.js';
import { createResponseChecker } from '../support/response-checker.js';
import {
  isPublic,
  listSpecOperations,
  pathParameterPattern,
  satisfies,
  type SpecOperation,
} from '../support/spec-operations.js';

const spec = JSON.parse(readFileSync('generated/tttranscribe/openapi.json', 'utf8')) as OpenApiDocument;
const operations = listSpecOperations(spec);
const check = createResponseChecker(spec);
const JOB_ID = pathParameterPattern(operations, 'jobId');
const IDEMPOTENCY_KEY = pathParameterPattern(operations, 'key');
/** The Idempotency-Key the job below is submitted with, so getJobByIdempotencyKey has a job to find. */
const KNOWN_KEY = 'contract_known_key_0001';
/** TEST-ONLY TTT_METRICS_TOKEN (at least 32 characters). */
const TTT_METRICS_TOKEN = 'test-only-ttt-metrics-token-0123456789abcd';
let ttt: TttTestApp;
let variants: CredentialVariant[];
let jobId: string;

const cleanup = createCleanupStack();
beforeAll(async () => {
  ttt = await startTttTestApp({ config: { metricsToken: TTT_METRICS_TOKEN } });
  cleanup.defer(() => ttt.close());
  const nowSec = () => Math.floor(ttt.clock.ms / 1000);
  variants = tttCredentialVariants({
    keys: [TEST_KEY],
    now: () => ttt.clock.ms,
    sharedSecret: TEST_SECRET,
    metricsToken: TTT_METRICS_TOKEN,
    serviceToken: () => ttt.issuer.mint({ sub: 'contract-user-1' }),
    userJwt: () => mintUserJwt({ nowMs: ttt.clock.ms }),
    serviceTokenOtherAudience: () => ttt.issuer.mint({ aud: 'business-engine' }),
    expiredServiceToken: () => ttt.issuer.mint({ iat: nowSec() - 3600, exp: nowSec() - 1800 }),
  });
  const { data, error } = await ttt.client.POST('/transcribe', {
    body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
    headers: { Authorization: `Bearer ${await ttt.issuer.mint()}`, 'Idempotency-Key': KNOWN_KEY },
  });
  if (!data) throw new Error(`could not create the job the status properties read: ${JSON.stringify(error)}`);
  jobId = data.jobId;
});
afterAll(() => cleanup.run());

/** The first variant that satisfies the operation (for a public one: no credentials). */
const rightVariant = (op: SpecOperation) => variants.find((v) => satisfies(op, v.grants))!;
const inputOptions = () => ({
  bodyLimitBytes: BODY_LIMIT_BYTES,
  pathParams: {
    jobId: fc.oneof(fc.constant(jobId), fc.stringMatching(JOB_ID)),
    key: fc.oneof(fc.constant(KNOWN_KEY), fc.stringMatching(IDEMPOTENCY_KEY)),
  },
});
const unknownIdOptions = () => ({
  bodyLimitBytes: BODY_LIMIT_BYTES,
  pathParams: {
    jobId: fc.stringMatching(JOB_ID).filter((id) => id !== jobId),
    key: fc.stringMatching(IDEMPOTENCY_KEY).filter((k) => k !== KNOWN_KEY),
  },
});

describe.each(operations.map((op) => [op.operationId, op] as const))('TTTranscribe %s', (_id, op) => {
  it('answers valid inputs with a 2xx or a catalog problem that conforms to the spec', async () => {
    await fc.assert(
      fc.asyncProperty(validInput(spec, op, inputOptions()), async (input) => {
        const credentials = await rightVariant(op).apply(input);
        assertContract(await send(ttt.baseUrl, input, credentials), credentials, check, op, 'valid');
      }),
      propertyParameters(),
    );
  });

  it('answers invalid inputs with a 4xx catalog problem, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(invalidInput(spec, op, inputOptions()), async (input) => {
        const credentials = await rightVariant(op).apply(input);
        assertContract(await send(ttt.baseUrl, input, credentials), credentials, check, op, 'invalid');
      }),
      propertyParameters(),
    );
  });

  it('answers 2xx only to the credentials its security requires', async () => {
    for (const variant of variants) {
      const input = exampleInput(op, { jobId, key: KNOWN_KEY });
      const credentials = await variant.apply(input);
      const expectation = satisfies(op, variant.grants) ? (isPublic(op) ? 'valid' : 'success') : 'refused';
      assertContract(await send(ttt.baseUrl, input, credentials), credentials, check, op, expectation);
    }
  });
});

const withIds = operations.filter((op) => op.parameters.some((p) => p.in === 'path') && op.errorCodes['404']);
describe.each(withIds.map((op) => [op.operationId, op] as const))(
  'TTTranscribe %s, id of nothing the caller owns',
  (_id, op) => {
    it('answers its documented 404 code', async () => {
      await fc.assert(
        fc.asyncProperty(validInput(spec, op, unknownIdOptions()), async (input) => {
          const credentials = await rightVariant(op).apply(input);
          assertContract(await send(ttt.baseUrl, input, credentials), credentials, check, op, 'not_found');
        }),
        propertyParameters(),
      );
    });
  },
);

describe('TTTranscribe getMetrics without TTT_METRICS_TOKEN', () => {
  it('answers every credential with its documented 404 (metrics disabled)', async () => {
    const op = operations.find((o) => o.operationId === 'getMetrics')!;
    const disabled = await startTttTestApp({ issuer: ttt.issuer, startMs: ttt.clock.ms });
    try {
      for (const variant of variants) {
        const input = exampleInput(op);
        const credentials = await variant.apply(input);
        assertContract(await send(disabled.baseUrl, input, credentials), credentials, check, op, 'not_found');
      }
    } finally {
      await disabled.close();
    }
  });
});
