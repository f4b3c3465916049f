import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ensureTools,
  missingTools,
  planInstall,
  stackTools,
  testTools,
  type Machine,
} from '../../../scripts/stack/system-tools.js';

const dir = mkdtempSync(join(tmpdir(), 'pluct-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A directory to use as the whole PATH, holding only the given stand-in scripts. */
function binDir(name: string, scripts: Record<string, string> = {}): string {
  const bin = join(dir, name);
  mkdirSync(bin, { recursive: true });
  for (const [file, body] of Object.entries(scripts)) {
    writeFileSync(join(bin, file), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, file), 0o755);
  }
  return bin;
}

function machine(over: Partial<Machine> & { env: Machine['env'] }): Machine {
  return { platform: 'linux', uid: 1000, sudoWithoutPassword: () => false, ...over };
}

const modelDir = join(dir, 'model', 'en-us');
const stackEnv = (path: string, extra: Record<string, string> = {}) => ({
  PATH: path,
  TTT_POCKETSPHINX_MODEL_DIR: modelDir,
  ...extra,
});

describe('system tools', () => {
  it('finds what is missing: programs on PATH, the model where TTTranscribe will look for it', () => {
    const empty = binDir('empty');
    expect(missingTools(stackTools(stackEnv(empty)), stackEnv(empty)).map((t) => t.name)).toEqual([
      'ffmpeg',
      'pocketsphinx_continuous',
      'pocketsphinx en-us model',
    ]);
    // Another engine needs no pocketsphinx; TTT_FFMPEG_PATH is where ffmpeg is looked for.
    expect(
      stackTools({ TTT_TRANSCRIBER: 'command', TTT_FFMPEG_PATH: '/opt/ff/ffmpeg' }).map((t) => [t.name, t.target]),
    ).toEqual([['ffmpeg', '/opt/ff/ffmpeg']]);
    expect(testTools({ CHROMIUM_PATH: '/opt/chromium' }).map((t) => t.debianPackage)).toEqual([
      'ffmpeg',
      'pocketsphinx',
      'pocketsphinx-en-us',
      'espeak-ng',
      'pocketsphinx-testdata',
      'chromium',
      'postgresql',
      'haproxy',
    ]);
    // A server of one's own (PLUCT_TEST_DATABASE_URL) needs no local PostgreSQL.
    expect(
      testTools({ PLUCT_TEST_DATABASE_URL: 'postgres://pluct@127.0.0.1:5432/postgres' }).map((t) => t.debianPackage),
    ).not.toContain('postgresql');
  });

  it('plans apt-get as root, sudo -n with password-less sudo, and the exact command otherwise', () => {
    const apt = binDir('apt', { 'apt-get': 'exit 0' });
    const missing = stackTools(stackEnv(apt));
    const root = planInstall(missing, machine({ uid: 0, env: stackEnv(apt) }));
    expect(root).toMatchObject({
      automatic: true,
      manual: 'apt-get update && apt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us',
    });
    expect(root.commands).toEqual([
      ['apt-get', 'update'],
      ['apt-get', 'install', '-y', '--no-install-recommends', 'ffmpeg', 'pocketsphinx', 'pocketsphinx-en-us'],
    ]);
    const sudo = planInstall(missing, machine({ env: stackEnv(apt), sudoWithoutPassword: () => true }));
    expect(sudo.automatic).toBe(true);
    expect(sudo.commands[1]?.slice(0, 3)).toEqual(['sudo', '-n', 'apt-get']);
    const prompt = planInstall(missing, machine({ env: stackEnv(apt) }));
    expect(prompt).toMatchObject({
      automatic: false,
      whyNot: 'installing needs root, and sudo asks for a password',
      manual:
        'sudo apt-get update && sudo apt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us',
    });
    const off = planInstall(missing, machine({ uid: 0, env: stackEnv(apt, { PLUCT_SYSTEM_PACKAGES: '0' }) }));
    expect(off).toMatchObject({ automatic: false, whyNot: 'PLUCT_SYSTEM_PACKAGES=0 is set' });
  });

  it('prints the command for the platform where there is no apt-get', () => {
    const empty = binDir('empty');
    const missing = stackTools(stackEnv(empty));
    const mac = planInstall(missing, machine({ platform: 'darwin', env: stackEnv(empty) }));
    expect(mac).toMatchObject({ automatic: false, manual: 'brew install ffmpeg' });
    expect(mac.unpackaged.map((u) => [u.tool.name, u.advice])).toEqual([
      [
        'pocketsphinx_continuous',
        expect.stringMatching(/knows no darwin package for pocketsphinx_continuous .*docs\/speech-engines\.md/),
      ],
      ['pocketsphinx en-us model', expect.stringMatching(/configure another speech engine/)],
    ]);
    expect(planInstall(missing, machine({ env: stackEnv(empty) })).manual).toBe(
      'install with your package manager: ffmpeg pocketsphinx pocketsphinx-en-us (their Debian names)',
    );
  });

  it('installs through apt-get, printing each command and why, then checks again', () => {
    const log = join(dir, 'apt.log');
    const bin = binDir('installing', {
      'apt-get': [
        `echo "$@" >> ${log}`,
        'case "$1" in install) ;; *) exit 0;; esac',
        `for p in "$@"; do case "$p" in`,
        // Only absolute paths: the PATH is this directory alone.
        `  ffmpeg) printf '#!/bin/sh\\n' > ${dir}/installing/ffmpeg; /bin/chmod 755 ${dir}/installing/ffmpeg;;`,
        `  pocketsphinx) printf '#!/bin/sh\\n' > ${dir}/installing/pocketsphinx_continuous; /bin/chmod 755 ${dir}/installing/pocketsphinx_continuous;;`,
        `  pocketsphinx-en-us) /bin/mkdir -p ${modelDir} && : > ${modelDir}/en-us.lm.bin;;`,
        'esac; done',
      ].join('\n'),
    });
    const lines: string[] = [];
    const report = ensureTools(stackTools(stackEnv(bin)), machine({ uid: 0, env: stackEnv(bin) }), 'npm start', (l) =>
      lines.push(l),
    );
    expect(report.missing).toEqual([]);
    expect(report.installed.map((t) => t.name)).toEqual([
      'ffmpeg',
      'pocketsphinx_continuous',
      'pocketsphinx en-us model',
    ]);
    expect(lines[0]).toMatch(
      /^npm start: ffmpeg, pocketsphinx_continuous, pocketsphinx en-us model are missing \(decoding every media file/,
    );
    expect(lines.slice(1)).toEqual([
      'npm start: installing the Debian packages that provide them: apt-get update',
      'npm start: installing the Debian packages that provide them: apt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us',
    ]);
    expect(readFileSync(log, 'utf8')).toBe(
      'update\ninstall -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us\n',
    );
    rmSync(modelDir, { recursive: true, force: true });
  });

  it('lists every tool still missing with its fix when the install fails or is not allowed', () => {
    const bin = binDir('failing', { 'apt-get': 'echo "E: Unable to locate package" >&2; exit 100' });
    const failed = ensureTools(
      stackTools(stackEnv(bin)),
      machine({ uid: 0, env: stackEnv(bin) }),
      'npm start',
      () => {},
    );
    expect(failed.lines).toEqual(
      ['ffmpeg', 'pocketsphinx_continuous', 'pocketsphinx en-us model'].map((name): unknown =>
        expect.stringMatching(
          new RegExp(
            `^${name} \\(.*\\): apt-get update && apt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us; the install failed: apt-get update exited with 100$`,
          ),
        ),
      ),
    );
    const lines: string[] = [];
    const off = ensureTools(
      stackTools(stackEnv(bin)),
      machine({ uid: 0, env: stackEnv(bin, { PLUCT_SYSTEM_PACKAGES: '0' }) }),
      'npm start',
      (l) => lines.push(l),
    );
    expect(lines).toEqual([]);
    expect(off.lines).toHaveLength(3);
    expect(off.lines[0]).toMatch(/\(not run: PLUCT_SYSTEM_PACKAGES=0 is set\)$/);
  });
});
