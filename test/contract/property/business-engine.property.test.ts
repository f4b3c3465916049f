// Generated negative and property tests for the Business Engine, from generated/business-engine/openapi.json
// alone: for every operation, valid and invalid inputs, ids of nothing the caller owns and the credential matrix,
// against the real engine wired to a real TTTranscribe (test-double processor, one frozen clock, response
// validation on in both; ENGINE_METRICS_TOKEN set, integration tokens created up front).
// Fixed seed (CONTRACT_SEED), CONTRACT_RUNS runs each.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createBusinessEngineClient } from '../../../generated/business-engine/client.js';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { createCleanupStack } from '../../helpers/cleanup-stack.js';
import { TEST_SECRET } from '../../helpers/ttt-app.js';
import { assertContract, propertyParameters } from '../support/contract-assertions.js';
import {
  startContractStack,
  TEST_ADMIN_TOKEN,
  TEST_ENGINE_METRICS_TOKEN,
  type ContractStack,
} from '../support/contract-stack.js';
import { engineCredentialVariants, type CredentialVariant } from '../support/credential-variants.js';
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

const spec = JSON.parse(readFileSync('generated/business-engine/openapi.json', 'utf8')) as OpenApiDocument;
const operations = listSpecOperations(spec);
const check = createResponseChecker(spec);
const JOB_ID = pathParameterPattern(operations, 'jobId');
const TOKEN_ID = pathParameterPattern(operations, 'tokenId');
// Above the engine's JSON body limit, so the oversized-body mutation is over it whatever the limit.
const BODY_LIMIT_BYTES = 64 * 1024;
const USER = 'contract-user-1';
const OTHER_USER = 'contract-user-2';
let stack: ContractStack;
let variants: CredentialVariant[];
let job: { jobId: string; token: string };
/** Integration token ids: one of USER's to revoke (again and again: revoking is idempotent), one of OTHER_USER's. */
let tokenIds: { revocable: string; otherUsers: string };

async function createIntegrationToken(
  sub: string,
  scopes: Array<'ttt:transcribe' | 'credits:read'>,
): Promise<{ id: string; token: string }> {
  const client = createBusinessEngineClient({ baseUrl: stack.engineUrl });
  const { data, error } = await client.POST('/v1/integrations/tokens', {
    body: { description: `contract property tests (${sub})`, scopes },
    headers: { Authorization: `Bearer ${await stack.userJwt({ sub })}` },
  });
  if (!data) throw new Error(`integration token creation failed: ${JSON.stringify(error)}`);
  return data;
}

async function vend(): Promise<string> {
  const client = createBusinessEngineClient({ baseUrl: stack.engineUrl });
  const { data, error } = await client.POST('/v1/vend-token', {
    body: { clientRequestId: randomUUID() },
    headers: { Authorization: `Bearer ${await stack.userJwt({ sub: USER })}` },
  });
  if (!data) throw new Error(`vend-token failed: ${JSON.stringify(error)}`);
  return data.token;
}

const cleanup = createCleanupStack();
beforeAll(async () => {
  stack = await startContractStack();
  cleanup.defer(() => stack.close());
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
  const credential = await createIntegrationToken(USER, ['ttt:transcribe', 'credits:read']);
  const revocable = await createIntegrationToken(USER, ['credits:read']);
  tokenIds = { revocable: revocable.id, otherUsers: (await createIntegrationToken(OTHER_USER, ['credits:read'])).id };
  const nowSec = () => Math.floor(stack.clock.ms / 1000);
  variants = engineCredentialVariants({
    userJwt: () => stack.userJwt({ sub: USER }),
    serviceToken: (input) => (input.operationId === 'getTranscriptionStatus' ? Promise.resolve(job.token) : vend()),
    adminToken: TEST_ADMIN_TOKEN,
    metricsToken: TEST_ENGINE_METRICS_TOKEN,
    integrationToken: credential.token,
    sharedSecret: TEST_SECRET,
    userJwtOtherAudience: () => stack.userJwt({ sub: USER, aud: 'tttranscribe' }),
    expiredUserJwt: () => stack.userJwt({ sub: USER, iat: nowSec() - 3600, exp: nowSec() - 1800 }),
    serviceTokenOtherAudience: () => stack.issuer.mint({ sub: USER, aud: 'business-engine' }),
    expiredServiceToken: () => stack.issuer.mint({ sub: USER, iat: nowSec() - 3600, exp: nowSec() - 1800 }),
  });
}, 60_000);
afterAll(() => cleanup.run());

/** The first variant that satisfies the operation (for a public one: no credentials). */
const rightVariant = (op: SpecOperation) => variants.find((v) => satisfies(op, v.grants))!;
const inputOptions = () => ({
  bodyLimitBytes: BODY_LIMIT_BYTES,
  pathParams: {
    jobId: fc.oneof(fc.constant(job.jobId), fc.stringMatching(JOB_ID)),
    tokenId: fc.oneof(fc.constant(tokenIds.revocable), fc.stringMatching(TOKEN_ID)),
  },
});
/** Well-formed ids of nothing USER owns: random ones, and another user's integration token. */
const unknownIdOptions = () => ({
  bodyLimitBytes: BODY_LIMIT_BYTES,
  pathParams: {
    jobId: fc.stringMatching(JOB_ID).filter((id) => id !== job.jobId),
    tokenId: fc.oneof(
      fc.constant(tokenIds.otherUsers),
      fc.stringMatching(TOKEN_ID).filter((id) => id !== tokenIds.revocable),
    ),
  },
});

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
      const input = exampleInput(op, { jobId: job.jobId, tokenId: tokenIds.revocable });
      const credentials = await variant.apply(input);
      const expectation = satisfies(op, variant.grants) ? (isPublic(op) ? 'valid' : 'success') : 'refused';
      assertContract(await send(stack.engineUrl, input, credentials), credentials, check, op, expectation);
    }
  });
});

const withIds = operations.filter((op) => op.parameters.some((p) => p.in === 'path') && op.errorCodes['404']);
describe.each(withIds.map((op) => [op.operationId, op] as const))(
  'Business Engine %s, id of nothing the caller owns',
  (_id, op) => {
    it('answers its documented 404 code', async () => {
      await fc.assert(
        fc.asyncProperty(validInput(spec, op, unknownIdOptions()), async (input) => {
          const credentials = await rightVariant(op).apply(input);
          assertContract(await send(stack.engineUrl, input, credentials), credentials, check, op, 'not_found');
        }),
        propertyParameters(),
      );
    });
  },
);
