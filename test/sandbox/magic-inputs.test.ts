/**
 * Every catalog code and every job failure code has a magic input in the sandbox (or is listed, with its reason,
 * as unreachable by an app by design), and every recipe, run against a sandbox through the normal API, produces
 * its code; every answer of the engine's API along the way is checked against the spec.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalog, errorCodes, jobFailureCodes } from '../../generated/errors.js';
import { startSandbox, type RunningSandbox } from '../../server/sandbox/create-sandbox.js';
import { MAGIC_INPUTS, UNREACHABLE_BY_DESIGN } from '../../server/sandbox/magic-inputs.js';
import { createCleanupStack } from '../helpers/cleanup-stack.js';
import { runRecipe } from './support/sandbox-client.js';

const magicFor = (code: string) => MAGIC_INPUTS.filter((m) => m.code === code);
const unreachable = (code: string) => UNREACHABLE_BY_DESIGN.find((u) => u.code === code);

describe('the magic-input registry covers the catalog', () => {
  it.each(errorCodes)('catalog code %s has a magic input or a reason no app can cause it', (code) => {
    const inputs = magicFor(code);
    const reason = unreachable(code);
    expect(
      inputs.length + (reason ? 1 : 0),
      `${code}: no magic input in server/sandbox/magic-inputs.ts and not listed as unreachable by design`,
    ).toBe(1);
    if (reason) expect(reason.reason.length, `${code}: the reason it is unreachable must say why`).toBeGreaterThan(40);
    for (const m of inputs) {
      expect(m.kind).toBe('problem');
      expect(m.input.trim()).not.toBe('');
      expect(m.steps.length).toBeGreaterThan(0);
    }
  });

  it.each(jobFailureCodes)('job failure code %s has a magic input', (code) => {
    const inputs = magicFor(code);
    expect(inputs, `${code}: no magic input in server/sandbox/magic-inputs.ts`).toHaveLength(1);
    expect(inputs[0]?.kind).toBe('job_failure');
  });

  it('lists no code twice and no code outside the catalogs', () => {
    const all = [...MAGIC_INPUTS.map((m) => m.code), ...UNREACHABLE_BY_DESIGN.map((u) => u.code)];
    expect(new Set(all).size).toBe(all.length);
    for (const code of all) expect([...errorCodes, ...jobFailureCodes] as string[]).toContain(code);
  });
});

describe('every magic input produces its code through the normal API', () => {
  // The upstream timeout is short (the fault upstream=timeout waits past it) yet well above a loaded machine's hop.
  let sandbox: RunningSandbox;
  let n = 0;
  const cleanup = createCleanupStack();
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, jobDurationMs: 100, upstreamTimeoutMs: 2_000, logLevel: 'silent' });
    cleanup.defer(() => sandbox.close());
  });
  afterAll(() => cleanup.run());

  it.each(MAGIC_INPUTS.map((m) => [m.code, m] as const))('%s', async (code, recipe) => {
    n += 1;
    const sub = `magic-${n}-${code}`;
    const vars: Record<string, string> = {
      sub,
      uid: `${n}x${Date.now().toString(36)}`,
      userJwt: await sandbox.userJwt({ sub }),
    };
    const exchanges = await runRecipe(sandbox.url, recipe, vars);
    for (const e of exchanges)
      expect(
        e.violations,
        `${e.method} ${e.path} answered ${e.status} against the spec: ${e.text.slice(0, 300)}`,
      ).toEqual([]);
    const last = exchanges.at(-1)!;
    const body = last.body as Record<string, unknown> | undefined;
    if (recipe.kind === 'problem') {
      expect({ status: last.status, code: body?.['code'] }, last.text.slice(0, 400)).toEqual({
        status: errorCatalog[code as keyof typeof errorCatalog].status,
        code,
      });
      expect(last.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } else {
      expect(body?.['status'], last.text.slice(0, 400)).toBe('failed');
      expect((body?.['error'] as Record<string, unknown> | undefined)?.['code']).toBe(code);
      expect(body?.['creditRefunded']).toBeTypeOf('boolean');
    }
  });
});
