/**
 * Talks to a sandbox the way an app does (plain fetch) and checks every answer of the engine's API against the
 * spec with the contract suites' response checker; runs the magic-input recipes of server/sandbox/magic-inputs.ts.
 */
import { readFileSync } from 'node:fs';
import type { MagicInput, MagicRequest } from '../../../server/sandbox/magic-inputs.js';
import type { OpenApiDocument } from '../../../server/shared/http/operation-matcher.js';
import { createResponseChecker, type Violation } from '../../contract/support/response-checker.js';

const engineSpec = JSON.parse(
  readFileSync(new URL('../../../generated/business-engine/openapi.json', import.meta.url), 'utf8'),
) as OpenApiDocument;
const checkEngine = createResponseChecker(engineSpec);

/** One exchange: what was asked, what came back, and what the spec says is wrong with it. */
export interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
  readonly violations: Violation[];
}

/** A fetch that checks every answer outside /sandbox/ against the Business Engine's spec. */
export async function call(
  base: string,
  request: { method: string; path: string; headers?: Record<string, string>; body?: unknown },
): Promise<Exchange> {
  const headers: Record<string, string> = { ...(request.headers ?? {}) };
  let body: string | undefined;
  if (request.body !== undefined) {
    body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${request.path}`, {
    method: request.method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const path = request.path.split('?')[0] as string;
  const violations = path.startsWith('/sandbox/')
    ? []
    : checkEngine({ method: request.method, path, status: response.status, headers: response.headers, body: text });
  return {
    method: request.method,
    path,
    status: response.status,
    headers: response.headers,
    body: parsed,
    text,
    violations,
  };
}

const fill = (text: string, vars: Record<string, string>): string =>
  text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`recipe variable {{${name}}} is not set`);
    return value;
  });
const fillDeep = (value: unknown, vars: Record<string, string>): unknown => {
  if (typeof value === 'string') return fill(value, vars);
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, vars));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDeep(v, vars)]));
  return value;
};
const field = (body: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (at, key) => (typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined),
      body,
    );

/** Runs one step, polling while `until` is not met (up to `pollMs` in total). */
export async function runStep(
  base: string,
  step: MagicRequest,
  vars: Record<string, string>,
  pollMs = 15_000,
): Promise<Exchange> {
  const headers: Record<string, string> = fillDeep(step.headers ?? {}, vars) as Record<string, string>;
  if (step.authorization) headers['Authorization'] = fill(step.authorization, vars);
  const request = {
    method: step.method,
    path: fill(step.path, vars),
    headers,
    ...(step.body === undefined ? {} : { body: fillDeep(step.body, vars) }),
  };
  const deadline = Date.now() + pollMs;
  for (;;) {
    const exchange = await call(base, request);
    for (const [name, at] of Object.entries(step.save ?? {})) {
      const value = field(exchange.body, at);
      if (typeof value === 'string') vars[name] = value;
    }
    const until = step.until;
    if (!until || until.values.includes(String(field(exchange.body, until.field))) || Date.now() > deadline)
      return exchange;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs a recipe with a fresh user; returns every exchange (the last one answers the recipe's code). */
export async function runRecipe(base: string, recipe: MagicInput, vars: Record<string, string>): Promise<Exchange[]> {
  const exchanges: Exchange[] = [];
  for (const step of recipe.steps) exchanges.push(await runStep(base, step, vars));
  return exchanges;
}
