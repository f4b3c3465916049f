import { describe, expect, it } from 'vitest';
import { runPluct } from '../../support/run-pluct.js';

describe('pluct sandbox (process)', { timeout: 60_000 }, () => {
  it('passes its flags to the sandbox: --help lists every flag with its variable', async () => {
    const run = await runPluct(['sandbox', '--help']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npm run sandbox/);
    for (const flag of ['--port', '--cors-origins', '--job-ms', '--faults', '--seed', '--latency'])
      expect(run.stdout).toContain(flag);
    expect(run.stdout).toContain('PLUCT_SANDBOX_CORS_ORIGINS');
  });

  it("relays the sandbox's refusal of a bad setting, naming it, and its exit code", async () => {
    const run = await runPluct(['sandbox', '--job-ms', 'soon']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--job-ms \(PLUCT_SANDBOX_JOB_MS\): must be a number/);
  });

  it('is listed by pluct --help', async () => {
    expect((await runPluct(['--help'])).stdout).toMatch(/^ {2}sandbox +Run the whole chain locally/m);
  });
});
