import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENGINE_AUTH_HEADER, signEngineAuth } from '../../../server/protocol/engine-auth.js';
import {
  engineAuthKeyId,
  parseSharedSecret,
  SHARED_SECRET_PREFIX,
} from '../../../server/protocol/engine-auth-secret.js';
import { JOB_ID_PATTERN } from '../../../server/protocol/job-id.js';
import { SERVICE_TOKEN } from '../../../server/protocol/service-token.js';
import { newJobId } from '../../../server/tttranscribe/jobs/job-id.js';

// The protocol module states rules the spec also states; these tests read generated/ (the spec as the tools see
// it) and fail when the two drift apart.
interface SecurityScheme {
  readonly name?: string;
  readonly description?: string;
  readonly bearerFormat?: string;
}
interface OpenApi {
  readonly components: {
    readonly parameters?: Record<string, { schema?: { pattern?: string } }>;
    readonly securitySchemes: Record<string, SecurityScheme>;
  };
}
const SERVICES = ['business-engine', 'tttranscribe'] as const;
const specOf = (service: string): OpenApi =>
  JSON.parse(readFileSync(new URL(`../../../generated/${service}/openapi.json`, import.meta.url), 'utf8')) as OpenApi;

describe('job id format', () => {
  it.each(SERVICES)('JOB_ID_PATTERN is the JobId parameter pattern of the %s spec', (service) => {
    const pattern = specOf(service).components.parameters?.['JobId']?.schema?.pattern;
    expect(pattern).toBeDefined();
    expect(JOB_ID_PATTERN.source).toBe(pattern);
  });

  it('ids TTTranscribe mints match it, and it refuses what the spec refuses', () => {
    for (let i = 0; i < 50; i++) expect(newJobId()).toMatch(JOB_ID_PATTERN);
    for (const bad of ['job_short', 'JOB_0123456789', 'job_0123456789-', `job_${'A'.repeat(65)}`])
      expect(JOB_ID_PATTERN.test(bad), bad).toBe(false);
  });
});

describe('service-token claim rules', () => {
  it.each(SERVICES)('match the serviceToken security scheme of the %s spec', (service) => {
    const scheme = specOf(service).components.securitySchemes['serviceToken'];
    const text = `${scheme?.bearerFormat ?? ''} ${scheme?.description ?? ''}`;
    expect(text).toContain(`typ ${SERVICE_TOKEN.typ}`);
    expect(text).toContain(SERVICE_TOKEN.alg);
    expect(text).toContain(`iss: ${SERVICE_TOKEN.issuer}`);
    expect(text).toContain(`aud: ${SERVICE_TOKEN.audience}`);
    expect(text).toContain(`scope: ${SERVICE_TOKEN.scope}`);
    expect(text).toContain(`(${SERVICE_TOKEN.lifetimeSec / 60} minutes)`);
  });
});

describe('X-Engine-Auth v1', () => {
  const scheme = specOf('tttranscribe').components.securitySchemes['engineAuth'];
  const description = scheme?.description ?? '';

  it("the header name and the secret prefix are the spec's", () => {
    expect(scheme?.name).toBe(ENGINE_AUTH_HEADER);
    expect(description).toContain(`\`${SHARED_SECRET_PREFIX}\``);
  });

  it('a signed header has the format the spec writes, with one signature per key', () => {
    // `v1;t=<unix seconds>;n=<nonce>;sig=<kid>:<sig>[,<kid>:<sig>]` -> each <…> one field value, [...] repeatable.
    const template = /`(v1;[^`]+)`/.exec(description)?.[1];
    expect(template).toBeDefined();
    const [single, repeat] = (template as string).split('[');
    const field = (s: string) => s.replace(/[.*+?^${}()|\\]/g, '\\$&').replace(/<[^>]+>/g, '[^;,:]+');
    const format = new RegExp(`^${field(single as string)}(?:${field((repeat as string).replace(/\]$/, ''))})*$`);
    const keys = [1, 2].map((seed) =>
      parseSharedSecret('TTT_SHARED_SECRET', SHARED_SECRET_PREFIX + Buffer.alloc(32, seed).toString('base64url')),
    );
    const { header } = signEngineAuth({
      keys,
      method: 'GET',
      target: '/health',
      body: undefined,
      bearerToken: undefined,
      now: () => 0,
    });
    expect(header).toMatch(format);
    expect(header.split(',')).toHaveLength(2);
  });

  it('key ids are derived from the key alone (16 lowercase hex), as the vectors record', () => {
    const vectors = JSON.parse(
      readFileSync(new URL('../../../spec/shared/engine-auth-vectors.json', import.meta.url), 'utf8'),
    ) as {
      vectors: { secrets: string[]; keyIds: string[] }[];
    };
    for (const v of vectors.vectors) {
      expect(v.secrets.map((s) => engineAuthKeyId(parseSharedSecret('TTT_SHARED_SECRET', s).key))).toEqual(v.keyIds);
    }
  });
});
