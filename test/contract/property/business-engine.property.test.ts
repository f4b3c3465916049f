// Generated negative and property tests for the Business Engine, from generated/business-engine/openapi.json
// alone: for every operation, valid and invalid inputs and the credential matrix, against the real engine
// wired to a real TTTranscribe (test-double processor, one frozen clock, response validation on in both).
// Fixed seed (CONTRACT_SEED), CONTRACT_RUNS runs each.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createBusinessEngineClient } from '../../../generated/business-engine/client.js';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { TEST_SECRET } from '../../helpers/ttt-app.js';
import { assertContract, propertyParameters } from '../support/contract-assertions.js';
import { startContractStack, TEST_ADMIN_TOKEN, type ContractStack } from '../support/contract-stack.js';
import { engineCredentialVariants, type CredentialVariant } from '../support/credential-variants.js';
import { send } from '../support/exchange.js';
import { exampleInput, invalidInput, validInput } from '../support/request-inputs.js';
import { createResponseChecker } from '../support/response-checker.js';
import { isPublic, listSpecOperations, satisfies, type SpecOperation } from '../support/spec-operations.js';

const spec = JSON.parse(readFileSync('generated/business-engine/openapi.json', 'utf8')) as OpenApiDocument;
// Not yet driven by this generator (text/plain body, metrics credential, a path id that must exist first);
// covered by test/observability and test/server/business-engine/integrations. Remove when the harness learns them.
const notYetGenerated = new Set(['getMetrics', 'revokeIntegrationToken']);
const operations = listSpecOperations(spec).filter((op) => !notYetGenerated.has(op.operationId));
const check = createResponseChecker(spec);
// Above the engine's JSON body limit, so the oversized-body mutation is over it whatever the limit.
const BODY_LIMIT_BYTES = 64 * 1024;
const USER = 'contract-user-1';
let stack: ContractStack;
let variants: CredentialVariant[];
let job: { jobId: string; token: string };

async function vend(): Promise<string> {
  const client = createBusinessEngineClient({ baseUrl: stack.engineUrl });
  const { data, error } = await client.POST('/v1/vend-token', {
    body: { clientRequestId: randomUUID() },
    headers: { Authorization: `Bearer ${await stack.userJwt({ sub: USER })}` },
  });
  if (!data) throw new Error(`vend-token failed: ${JSON.stringify(error)}`);
  return data.token;
}

beforeAll(async () => {
  stack = await startContractStack();
  const client = createBusinessEngineClient({ baseUrl: stack.engineUrl });
  const granted = await client.POST('/admin/credits/grant', {
    body: { userId: USER, amount: 100_000, bucket: 'main', reason: 'contract property tests' },
    headers: { Authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
  });
  if (!granted.data) throw new Error(`grant failed: ${JSON.stringify(granted.error)}`);
  const token = await vend();
  const submitted = await client.POST('/ttt/transcribe', {
    body: { url: 'https://media.example.com/clip.mp4', language: 'en' },
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!submitted.data) throw new Error(`submission failed: ${JSON.stringify(submitted.error)}`);
  job = { jobId: submitted.data.jobId, token };
  const nowSec = () => Math.floor(stack.clock.ms / 1000);
  variants = engineCredentialVariants({
    userJwt: () => stack.userJwt({ sub: USER }),
    serviceToken: (input) => (input.operationId === 'getTranscriptionStatus' ? Promise.resolve(job.token) : vend()),
    adminToken: TEST_ADMIN_TOKEN,
    sharedSecret: TEST_SECRET,
    userJwtOtherAudience: () => stack.userJwt({ sub: USER, aud: 'tttranscribe' }),
    expiredUserJwt: () => stack.userJwt({ sub: USER, iat: nowSec() - 3600, exp: nowSec() - 1800 }),
    serviceTokenOtherAudience: () => stack.issuer.mint({ sub: USER, aud: 'business-engine' }),
    expiredServiceToken: () => stack.issuer.mint({ sub: USER, iat: nowSec() - 3600, exp: nowSec() - 1800 }),
  });
}, 60_000);
afterAll(() => stack?.close());

/** The first variant that satisfies the operation (for a public one: no credentials). */
const rightVariant = (op: SpecOperation) => variants.find((v) => satisfies(op, v.grants))!;
const inputOptions = () => ({ bodyLimitBytes: BODY_LIMIT_BYTES, pathParams: { jobId: fc.oneof(fc.constant(job.jobId), fc.stringMatching(/^job_[A-Za-z0-9]{8,64}$/)) } });

describe.each(operations.map((op) => [op.operationId, op] as const))('Business Engine %s', (_id, op) => {
  it('answers valid inputs with a 2xx or a catalog problem that conforms to the spec', async () => {
    await fc.assert(
      fc.asyncProperty(validInput(spec, op, inputOptions()), async (input) => {
        const credentials = await rightVariant(op).apply(input);
        assertContract(await send(stack.engineUrl, input, credentials), credentials, check, op, 'valid');
      }),
      propertyParameters(),
    );
  });

  it('answers invalid inputs with a 4xx catalog problem, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(invalidInput(spec, op, inputOptions()), async (input) => {
        const credentials = await rightVariant(op).apply(input);
        assertContract(await send(stack.engineUrl, input, credentials), credentials, check, op, 'invalid');
      }),
      propertyParameters(),
    );
  });

  it('answers 2xx only to the credentials its security requires', async () => {
    for (const variant of variants) {
      const input = exampleInput(op, { jobId: job.jobId });
      const credentials = await variant.apply(input);
      const expectation = satisfies(op, variant.grants) ? (isPublic(op) ? 'valid' : 'success') : 'refused';
      assertContract(await send(stack.engineUrl, input, credentials), credentials, check, op, expectation);
    }
  });
});
