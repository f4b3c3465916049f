import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSandboxOptions } from '../../server/sandbox/config.js';
import { ConfigError } from '../../server/shared/config/env.js';

const dir = mkdtempSync(join(tmpdir(), 'sandbox-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problems = (argv: string[], env: Record<string, string> = {}): string[] => {
  try {
    loadSandboxOptions(argv, env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map((p) => `${p.variable}: ${p.message}`);
  }
};

describe('loadSandboxOptions', () => {
  it('has defaults for everything', () => {
    expect(loadSandboxOptions([], {})).toMatchObject({
      port: 8790,
      host: '127.0.0.1',
      corsOrigins: ['*'],
      jobDurationMs: 1500,
      startingCredits: 3,
      upstreamTimeoutMs: 5000,
      faults: {},
    });
  });

  it('takes flags over PLUCT_SANDBOX_* variables', () => {
    const options = loadSandboxOptions(
      ['--port', '0', '--cors-origins', 'http://localhost:5173, https://app.example.com'],
      { PLUCT_SANDBOX_PORT: '9999', PLUCT_SANDBOX_JOB_MS: '250' },
    );
    expect(options).toMatchObject({
      port: 0,
      jobDurationMs: 250,
      corsOrigins: ['http://localhost:5173', 'https://app.example.com'],
    });
  });

  it('reads a fault plan file, with --seed and --latency over its values', () => {
    const file = join(dir, 'plan.json');
    writeFileSync(file, JSON.stringify({ seed: 3, latency: '10', operations: { vendToken: { errorRate: 0.5 } } }));
    expect(loadSandboxOptions(['--faults', file, '--seed', '9', '--latency', '5-15'], {}).faults).toMatchObject({
      seed: 9,
      latency: '5-15',
      operations: { vendToken: { errorRate: 0.5 } },
    });
  });

  it('names every bad setting at once', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ operations: { vendToken: { errorRate: 7 } } }));
    const found = problems(
      ['--port', 'x', '--cors-origins', 'localhost:5173/path', '--faults', file, '--latency', 'soon'],
      { PLUCT_SANDBOX_JOB_MS: '-1' },
    );
    expect(found.map((p) => p.split(':')[0])).toEqual([
      '--port (PLUCT_SANDBOX_PORT)',
      '--cors-origins (PLUCT_SANDBOX_CORS_ORIGINS)',
      '--job-ms (PLUCT_SANDBOX_JOB_MS)',
      '--faults (PLUCT_SANDBOX_FAULTS)',
      '--latency (PLUCT_SANDBOX_LATENCY)',
    ]);
  });

  it('refuses an unknown flag', () => {
    expect(() => loadSandboxOptions(['--prot', '1'], {})).toThrow(/Unknown option '--prot'/);
  });
});
