/**
 * The README's first run on a machine without the Debian packages, as a process: `npm start` with a PATH that
 * holds only node, npm, npx, sh and a stand-in apt-get (no ffmpeg, no pocketsphinx, and the en-us model looked for
 * in an empty directory). npm start must install them itself (the stand-in "installs" by linking the real
 * programs and model into place), report transcription available, and then the README's
 * `npx pluct transcribe ./clip.mp4` must print a transcript of that local file. Ctrl-C then stops both services
 * and npm ends with SIGINT (status 130 in a shell).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../scripts/net/free-port.js';
import { createMediaFixtures, librivoxClips } from '../fixtures/media.js';
import { wordErrorRate } from '../fixtures/wer.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pluct-first-run-'));
const bin = join(dir, 'bin');
const modelDir = join(dir, 'share', 'pocketsphinx', 'model', 'en-us');
const aptLog = join(dir, 'apt-get.log');
const running: ChildProcess[] = [];

afterAll(() => {
  for (const child of running) {
    try {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function which(program: string): string {
  return realpathSync(execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim());
}

/** A PATH with the bare minimum to run npm, and an apt-get that "installs" by linking the real tools into it. */
function curatedPath(): void {
  if (existsSync(bin)) return;
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const tool of ['npm', 'npx', 'sh']) symlinkSync(which(tool), join(bin, tool));
  const real = {
    ffmpeg: which('ffmpeg'),
    pocketsphinx: which('pocketsphinx_continuous'),
    model: '/usr/share/pocketsphinx/model/en-us',
  };
  writeFileSync(
    join(bin, 'apt-get'),
    [
      '#!/bin/sh',
      `echo "apt-get $*" >> ${aptLog}`,
      '[ "$1" = install ] || exit 0',
      'for p in "$@"; do case "$p" in',
      `  ffmpeg) /bin/ln -sf ${real.ffmpeg} ${bin}/ffmpeg;;`,
      `  pocketsphinx) /bin/ln -sf ${real.pocketsphinx} ${bin}/pocketsphinx_continuous;;`,
      `  pocketsphinx-en-us) /bin/mkdir -p ${join(modelDir, '..')} && /bin/ln -sfn ${real.model} ${modelDir};;`,
      'esac; done',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'apt-get'), 0o755);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** `npm start` in its own process group (as a terminal would run it), with the curated PATH. */
async function npmStart(extra: Record<string, string> = {}) {
  curatedPath();
  const [enginePort, tttPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(PLUCT_|TTT_|USER_JWT_|ADMIN_TOKEN|SERVICE_TOKEN_|ENGINE_|npm_)/i.test(k),
    ),
  );
  const run = `run${running.length}`;
  const env = {
    ...inherited,
    PATH: bin,
    PLUCT_ENV_FILE: join(dir, run, '.env'),
    PLUCT_DATA_DIR: join(dir, run, 'data'),
    PLUCT_BUILD_DOCS: '0',
    LOG_LEVEL: 'warn',
    ENGINE_PORT: String(enginePort),
    TTT_PORT: String(tttPort),
    PLUCT_READY_TIMEOUT_MS: '90000',
    TTT_POCKETSPHINX_MODEL_DIR: modelDir,
    npm_config_cache: join(dir, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    ...extra,
  };
  mkdirSync(join(dir, run));
  const stack = spawn(join(bin, 'npm'), ['start'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(stack);
  let output = '';
  stack.stdout.on('data', (d: Buffer) => (output += d.toString()));
  stack.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    stack.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 120_000;
  while (!output.includes('Ctrl-C stops both services')) {
    if (stack.exitCode !== null || Date.now() > deadline) throw new Error(`the stack did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { stack, env, enginePort, tttPort, exited, output: () => output };
}

describe('first run without the Debian packages (npm start, then the README commands)', { timeout: 240_000 }, () => {
  it('with PLUCT_SYSTEM_PACKAGES=0: starts anyway, listing every missing tool with its command, transcription unavailable', async () => {
    const { stack, exited, output } = await npmStart({ PLUCT_SYSTEM_PACKAGES: '0' });
    const out = output();
    expect(out).toContain(
      'Missing system tools (transcription is unavailable until they are installed; then restart npm start):',
    );
    const fix =
      'apt-get update && apt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us (not run: PLUCT_SYSTEM_PACKAGES=0 is set)';
    for (const tool of [
      'ffmpeg (decoding every media file before transcription)',
      'pocketsphinx_continuous (speech recognition, the default engine)',
      'pocketsphinx en-us model (speech recognition in US English)',
    ]) {
      expect(out).toContain(`    ${tool}: ${fix}`);
    }
    expect(out).toMatch(/Transcription +UNAVAILABLE with pocketsphinx: pocketsphinx_continuous is not installed/);
    expect(() => readFileSync(aptLog, 'utf8')).toThrow(); // apt-get was never run
    process.kill(-(stack.pid as number), 'SIGINT');
    await exited;
  });

  it('installs the speech tools, then transcribes a local file', async () => {
    const { stack, env, enginePort, tttPort, exited, output: read } = await npmStart();
    const output = read();

    expect(output).toContain('npm start: ffmpeg, pocketsphinx_continuous, pocketsphinx en-us model are missing');
    expect(output).toContain(
      'npm start: installing the Debian packages that provide them: apt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us',
    );
    expect(readFileSync(aptLog, 'utf8')).toBe(
      'apt-get update\napt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us\n',
    );
    expect(output).toMatch(/Transcription +pocketsphinx \(en-us\), available/);
    expect(output).not.toContain('Missing system tools');
    expect(output).not.toContain('TTT_ALLOW_PRIVATE_CIDRS is not set');

    // The README's command on a local file (an MP4 made from the shortest LibriVox clip).
    const media = await createMediaFixtures();
    try {
      const clip = (await librivoxClips()).find((c) => c.id.endsWith('0880'));
      if (!clip) throw new Error('LibriVox clip 0880 is missing (pocketsphinx-testdata)');
      copyFileSync(await media.mp4(clip.wavPath), join(dir, 'clip.mp4'));
      const transcript = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(join(bin, 'npx'), ['pluct', 'transcribe', join(dir, 'clip.mp4')], {
          cwd: root,
          env: { ...env, PLUCT_ENGINE_URL: `http://127.0.0.1:${enginePort}` },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => resolve({ code, stdout, stderr }));
      });
      expect(transcript.stderr).toContain('to TTTranscribe on 127.0.0.1');
      expect(transcript.code, transcript.stderr).toBe(0);
      // pocketsphinx hears "he was not an illness those young man" here: well under half the words wrong.
      expect(wordErrorRate(clip.reference, transcript.stdout)).toBeLessThan(0.5);
    } finally {
      await media.cleanup();
    }

    // Ctrl-C in a terminal reaches the whole foreground process group: both services drain and stop; npm then
    // ends itself with SIGINT, which a shell reports as exit status 130.
    process.kill(-(stack.pid as number), 'SIGINT');
    expect(await exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(read()).toContain('Stopping both services: each drains its requests');
    expect(read()).toContain('Both services stopped.');
    expect([await portFree(enginePort), await portFree(tttPort)]).toEqual([true, true]);
  });

  it('stops both services when the npm process itself is SIGKILLed', async () => {
    const { stack, enginePort, tttPort } = await npmStart({ TTT_TRANSCRIBER: 'none' });
    process.kill(stack.pid as number, 'SIGKILL'); // npm only: its shell and the stack live on, orphaned
    const deadline = Date.now() + 15_000; // a second to notice, up to 10 s of drain
    while (!((await portFree(enginePort)) && (await portFree(tttPort))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect([await portFree(enginePort), await portFree(tttPort)]).toEqual([true, true]);
  });
});
