// Generated negative and property tests for TTTranscribe, from generated/tttranscribe/openapi.json alone:
// for every operation, valid and invalid inputs and the credential matrix, against the real app (test-double
// processor, frozen clock, response validation on). Fixed seed (CONTRACT_SEED), CONTRACT_RUNS runs each.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { BODY_LIMIT_BYTES } from '../../../server/tttranscribe/app.js';
import { startTttTestApp, TEST_KEY, TEST_SECRET, type TttTestApp } from '../../helpers/ttt-app.js';
import { mintUserJwt } from '../../helpers/user-tokens.js';
import { assertContract, propertyParameters } from '../support/contract-assertions.js';
import { tttCredentialVariants, type CredentialVariant } from '../support/credential-variants.js';
import { send } from '../support/exchange.js';
import { exampleInput, invalidInput, validInput } from '../support/request-inputs.js';
import { createResponseChecker } from '../support/response-checker.js';
import { isPublic, listSpecOperations, satisfies, type SpecOperation } from '../support/spec-operations.js';

const spec = JSON.parse(readFileSync('generated/tttranscribe/openapi.json', 'utf8')) as OpenApiDocument;
// Not yet driven by this generator (text/plain body, metrics credential, a path id that must exist first);
// covered by test/observability and test/server/business-engine/integrations. Remove when the harness learns them.
const notYetGenerated = new Set(['getMetrics']);
const operations = listSpecOperations(spec).filter((op) => !notYetGenerated.has(op.operationId));
const check = createResponseChecker(spec);
let ttt: TttTestApp;
let variants: CredentialVariant[];
let jobId: string;

beforeAll(async () => {
  ttt = await startTttTestApp();
  const nowSec = () => Math.floor(ttt.clock.ms / 1000);
  variants = tttCredentialVariants({
    keys: [TEST_KEY],
    now: () => ttt.clock.ms,
    sharedSecret: TEST_SECRET,
    serviceToken: () => ttt.issuer.mint({ sub: 'contract-user-1' }),
    userJwt: () => mintUserJwt({ nowMs: ttt.clock.ms }),
    serviceTokenOtherAudience: () => ttt.issuer.mint({ aud: 'business-engine' }),
    expiredServiceToken: () => ttt.issuer.mint({ iat: nowSec() - 3600, exp: nowSec() - 1800 }),
  });
  const { data, error } = await ttt.client.POST('/transcribe', {
    body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
    headers: { Authorization: `Bearer ${await ttt.issuer.mint()}` },
  });
  if (!data) throw new Error(`could not create the job the status properties read: ${JSON.stringify(error)}`);
  jobId = data.jobId;
});
afterAll(() => ttt?.close());

/** The first variant that satisfies the operation (for a public one: no credentials). */
const rightVariant = (op: SpecOperation) => variants.find((v) => satisfies(op, v.grants))!;
const inputOptions = () => ({ bodyLimitBytes: BODY_LIMIT_BYTES, pathParams: { jobId: fc.oneof(fc.constant(jobId), fc.stringMatching(/^job_[A-Za-z0-9]{8,64}$/)) } });

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
      const input = exampleInput(op, { jobId });
      const credentials = await variant.apply(input);
      const expectation = satisfies(op, variant.grants) ? (isPublic(op) ? 'valid' : 'success') : 'refused';
      assertContract(await send(ttt.baseUrl, input, credentials), credentials, check, op, expectation);
    }
  });
});
