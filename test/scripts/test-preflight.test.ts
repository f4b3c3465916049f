/**
 * `npm test`'s pre-flight (scripts/test-preflight.ts, the `pretest` script) as a process on a PATH without the
 * system tools, and the vitest global setup that makes a plain `npx vitest run` stop the same way.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import checkSystemTools from '../setup/system-tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pluct-preflight-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function preflight(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PLUCT_|TTT_|CHROMIUM_PATH)/.test(k)));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/test-preflight.ts'],
      { cwd: root, env: { ...base, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('npm test pre-flight', { timeout: 30_000 }, () => {
  it('stops before vitest, naming every missing tool and the command, when it may not install', async () => {
    const bin = join(dir, 'empty-bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\necho "$@" >> ${join(dir, 'never.log')}\n`);
    chmodSync(join(bin, 'apt-get'), 0o755);
    // The two data files are real paths on this machine, so only the programs can be made to vanish here.
    const run = await preflight({ PATH: bin, PLUCT_SYSTEM_PACKAGES: '0', CHROMIUM_PATH: join(bin, 'chromium') });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('npm test: the tests cannot run without these system tools:');
    for (const name of ['ffmpeg', 'pocketsphinx_continuous', 'espeak-ng', 'chromium', 'haproxy']) {
      expect(run.stderr).toMatch(
        new RegExp(
          `\\n  ${name} \\(.*\\): apt-get update && apt-get install -y --no-install-recommends ffmpeg pocketsphinx espeak-ng chromium haproxy \\(not run: PLUCT_SYSTEM_PACKAGES=0 is set\\)`,
        ),
      );
    }
    expect(() => readFileSync(join(dir, 'never.log'))).toThrow();
  });

  it('installs them with apt-get when it can, printing the command, and then lets the tests run', async () => {
    const bin = join(dir, 'installing-bin');
    mkdirSync(bin);
    const log = join(dir, 'apt.log');
    const links = [
      ['ffmpeg', 'ffmpeg'],
      ['pocketsphinx', 'pocketsphinx_continuous'],
      ['espeak-ng', 'espeak-ng'],
      ['chromium', 'chromium'],
      ['haproxy', 'haproxy'],
    ].map(([pkg, program]) => `  ${pkg}) /bin/ln -sf /bin/true ${join(bin, program as string)};;`);
    writeFileSync(
      join(bin, 'apt-get'),
      [
        '#!/bin/sh',
        `echo "$@" >> ${log}`,
        '[ "$1" = install ] || exit 0',
        'for p in "$@"; do case "$p" in',
        ...links,
        'esac; done',
        '',
      ].join('\n'),
    );
    chmodSync(join(bin, 'apt-get'), 0o755);
    symlinkSync(process.execPath, join(bin, 'node'));
    const run = await preflight({ PATH: bin, CHROMIUM_PATH: join(bin, 'chromium') });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('npm test: ffmpeg, pocketsphinx_continuous, espeak-ng, chromium, haproxy are missing');
    expect(run.stdout).toContain(
      'npm test: installing the Debian packages that provide them: apt-get install -y --no-install-recommends ffmpeg pocketsphinx espeak-ng chromium haproxy',
    );
    expect(run.stdout).toContain('npm test: installed ffmpeg, pocketsphinx_continuous, espeak-ng, chromium, haproxy.');
  });

  it('the vitest global setup refuses to start with a missing tool, naming it and the command', () => {
    const saved = { PATH: process.env['PATH'], CHROMIUM_PATH: process.env['CHROMIUM_PATH'] };
    try {
      process.env['CHROMIUM_PATH'] = join(dir, 'no-chromium');
      expect(() => checkSystemTools()).toThrow(
        /The tests need system tools that are missing: chromium \(the offline docs browser test\)\. Install them with: .*apt-get install -y --no-install-recommends chromium/,
      );
      delete process.env['CHROMIUM_PATH'];
      if (saved.CHROMIUM_PATH !== undefined) process.env['CHROMIUM_PATH'] = saved.CHROMIUM_PATH;
      expect(() => checkSystemTools()).not.toThrow();
    } finally {
      process.env['PATH'] = saved.PATH;
      if (saved.CHROMIUM_PATH === undefined) delete process.env['CHROMIUM_PATH'];
      else process.env['CHROMIUM_PATH'] = saved.CHROMIUM_PATH;
    }
  });
});
