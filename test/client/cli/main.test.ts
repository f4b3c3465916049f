import { describe, expect, it } from 'vitest';
import { commands } from '../../../client/cli/main.js';
import { runPluct, runPluctAll } from '../support/run-pluct.js';

describe('pluct (process)', { timeout: 60_000 }, () => {
  it('prints help for every command, each group and the root, exiting 0', async () => {
    const invocations = [
      ['--help'],
      ['token', '--help'],
      ['secret', '--help'],
      ...commands.map((c) => [...c.name.split(' '), '--help']),
    ];
    const runs = await runPluctAll(invocations);
    runs.forEach((run, i) => {
      const args = invocations[i] as string[];
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(0);
      expect(run.stderr, args.join(' ')).toBe('');
    });
    expect(runs[0]?.stdout).toMatch(/^Usage: pluct <command>/);
    for (const c of commands) expect(runs[0]?.stdout).toContain(c.name);
    expect(runs[1]?.stdout).toContain('pluct token mint');
    commands.forEach((c, i) => {
      const out = runs[i + 3]?.stdout ?? '';
      expect(out).toContain(`Usage: pluct ${c.usage}`);
      expect(out).toContain('--help');
      for (const option of Object.keys(c.options)) expect(out).toContain(`--${option}`);
    });
  });

  it('exits 2 with the usage on an unknown command, subcommand or option, or a missing argument', async () => {
    const [unknown, noSub, badOption, missing] = await Promise.all([
      runPluct(['frobnicate']),
      runPluct(['token']),
      runPluct(['secret', 'new', '--bogus']),
      runPluct(['sign', '--method', 'GET']),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toContain('a subcommand is required');
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/Unknown option '--bogus'[\s\S]*Usage: pluct secret new/);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--url is required');
  });
});
