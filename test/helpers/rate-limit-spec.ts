import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** An operation's `x-rate-limit`: the policy it counts under, its default and the variable that changes it. */
export interface RateLimitDoc {
  readonly policy: string;
  readonly limit: number;
  readonly windowSec: number;
  readonly setting: string;
}

/** The parts of a bundled spec operation the rate-limit checks read. */
export interface SpecOperation {
  readonly operationId: string;
  readonly security?: unknown[];
  readonly responses: Record<string, { $ref?: string; headers?: Record<string, unknown> }>;
  readonly 'x-rate-limit'?: RateLimitDoc;
}

/**
 * Every operation of a service's bundled spec (generated/<service>/openapi.json), and those that need a credential
 * (an own or inherited security requirement other than the anonymous `{}`).
 *
 * @example
 * const { operations, authenticated } = specOperations('tttranscribe');
 */
export function specOperations(service: 'business-engine' | 'tttranscribe'): {
  operations: SpecOperation[];
  authenticated: SpecOperation[];
} {
  const spec = JSON.parse(
    readFileSync(new URL(`../../generated/${service}/openapi.json`, import.meta.url), 'utf8'),
  ) as { security: unknown[]; paths: Record<string, Record<string, unknown>> }; // path items also hold `parameters`
  const operations = Object.values(spec.paths).flatMap((item) =>
    Object.values(item).filter((v): v is SpecOperation => typeof v === 'object' && v !== null && 'operationId' in v),
  );
  const authenticated = operations.filter(
    (op) => (op.security ?? spec.security).length > 0 && JSON.stringify(op.security) !== '[{}]',
  );
  return { operations, authenticated };
}

/**
 * Asserts what the spec must say of a rate-limited operation: a 429 answered with the shared RateLimited response,
 * and the RateLimit and RateLimit-Policy headers on its success answer.
 *
 * @example
 * for (const op of authenticated) expectRateLimitedResponses(op);
 */
export function expectRateLimitedResponses(op: SpecOperation): void {
  expect(op.responses['429']?.$ref, op.operationId).toBe('#/components/responses/RateLimited');
  const success = Object.entries(op.responses).find(([status]) => status.startsWith('2'))?.[1];
  expect(Object.keys(success?.headers ?? {}), op.operationId).toEqual(
    expect.arrayContaining(['RateLimit', 'RateLimit-Policy']),
  );
}
