import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'pluct-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problem = (code: string, status: number, overrides: Record<string, unknown> = {}) => ({
  value: { code, status, title: 'x', responsibility: 'caller', retryable: false, guidance: 'x', ...overrides },
});

/** A spec that breaks each Pluct rule once. */
const badSpec = {
  openapi: '3.1.0',
  info: { title: 'Bad', version: '1.0.0', license: { name: 'MIT', identifier: 'MIT' }, description: 'd' },
  servers: [{ url: 'http://127.0.0.1:1' }],
  security: [],
  paths: {
    '/a': {
      get: {
        operationId: 'getA',
        summary: 's',
        description: 'd',
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
          '401': {
            description: 'no',
            content: {
              'application/problem+json': {
                schema: { type: 'object', properties: { type: { type: 'string' }, title: { type: 'string' } } },
                examples: {
                  upstream_auth_failure: problem('upstream_auth_failure', 502),
                  made_up_code: problem('made_up_code', 401),
                },
              },
            },
          },
        },
      },
    },
  },
};

async function lint(spec: object): Promise<string> {
  writeFileSync(join(dir, 'openapi.yaml'), stringify(spec));
  writeFileSync(
    join(dir, 'redocly.yaml'),
    stringify({
      apis: { bad: { root: './openapi.yaml' } },
      plugins: [join(root, 'spec/lint/pluct-rules.js')],
      rules: {
        'pluct/problem-examples-in-catalog': 'error',
        'pluct/no-upstream-code-under-401-403': 'error',
        'pluct/operation-declares-problem-4xx-5xx': 'error',
        'pluct/success-response-has-example': 'error',
      },
    }),
  );
  try {
    await run(
      join(root, 'node_modules/.bin/redocly'),
      ['lint', '--config', join(dir, 'redocly.yaml'), '--format', 'json'],
      {
        cwd: dir,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
    );
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe('the Pluct lint rules', () => {
  it('reject an upstream code under 401, unknown codes, misplaced statuses, missing 5xx and missing examples', async () => {
    const output = await lint(badSpec);
    expect(output).toContain('pluct/no-upstream-code-under-401-403');
    expect(output).toMatch(/made_up_code.{0,8}, which is not in spec\/shared\/errors.yaml/);
    expect(output).toContain('has status 502 in the catalog but stands under 401');
    expect(output).toContain('problem+json 5xx');
    expect(output).toContain('needs at least one example');
  }, 60_000);

  it('accept the real specs', async () => {
    const { stdout, stderr } = await run(join(root, 'node_modules/.bin/redocly'), ['lint'], {
      cwd: root,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    expect(`${stdout}${stderr}`).toContain('Your API descriptions are valid');
  }, 60_000);
});
