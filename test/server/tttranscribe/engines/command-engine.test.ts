import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCommandEngine } from '../../../../server/tttranscribe/engines/command-engine.js';
import type { TranscribeOptions } from '../../../../server/tttranscribe/engines/transcription-engine.js';

let dir: string;
let wav: string;

/** A stand-in transcription program: a tiny shell script in a temp dir, run by the engine without a shell. */
async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

const call = (overrides: Partial<TranscribeOptions> = {}): TranscribeOptions => ({
  language: undefined,
  signal: new AbortController().signal,
  onProgress: () => {},
  ...overrides,
});
const failure = (code: string, message: RegExp): unknown =>
  expect.objectContaining({ name: 'JobFailure', code, message: expect.stringMatching(message) });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ttt-command-engine-'));
  wav = join(dir, 'audio.wav');
  await writeFile(wav, 'RIFF....WAVE');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('createCommandEngine', () => {
  it('runs the program with the filled-in template and returns its stdout', async () => {
    const fake = await script('fake-whisper', 'echo "  heard $# args: lang=$2 file=$4  "');
    const engine = createCommandEngine({
      command: [fake, '-l', '{language}', '-f', '{wav}'],
      name: 'whisper.cpp',
      model: 'base',
    });
    expect(engine).toMatchObject({ name: 'whisper.cpp', model: 'base' });
    await expect(engine.probe()).resolves.toEqual({ available: true });
    await expect(engine.transcribe(wav, call({ language: 'de-DE' }))).resolves.toBe(
      `heard 4 args: lang=de file=${wav}`,
    );
  });

  it('defaults the engine name to the program and the language to en', async () => {
    const fake = await script('echo-lang', 'echo "$1"');
    const engine = createCommandEngine({ command: [fake, '{language}', '{wav}'] });
    expect(engine).toMatchObject({ name: 'echo-lang', model: null, languages: undefined });
    await expect(engine.transcribe(wav, call())).resolves.toBe('en');
  });

  it('reads the transcript from an output file when configured', async () => {
    const fake = await script('writes-file', 'echo "noise on stdout"; printf "from the file\\n" > "$2.txt"');
    const engine = createCommandEngine({ command: [fake, '{wav}', '{output}'], outputFile: '{output}.txt' });
    await expect(engine.transcribe(wav, call())).resolves.toBe('from the file');
    const lazy = createCommandEngine({
      command: [await script('no-file', 'exit 0'), '{wav}'],
      outputFile: '{output}.txt',
    });
    await expect(lazy.transcribe(wav, call())).rejects.toEqual(
      failure('transcription_failed', /without writing a transcript/),
    );
  });

  it('maps a failing program to transcription_failed without leaking its stderr', async () => {
    const failing = await script('failing', 'echo "model /secret/path.bin failed" >&2; exit 3');
    const engine = createCommandEngine({ command: [failing, '{wav}'] });
    const err: unknown = await engine.transcribe(wav, call()).catch((e: unknown) => e);
    expect(err).toEqual(failure('transcription_failed', /failed on this audio/));
    expect((err as Error).message).not.toContain('secret');
    expect(String((err as Error).cause)).toContain('exited with 3');
  });

  it('maps a missing program to transcription_engine_unavailable, never a transcript', async () => {
    const engine = createCommandEngine({ command: [join(dir, 'not-installed'), '{wav}'] });
    await expect(engine.probe()).resolves.toEqual({
      available: false,
      reason: expect.stringMatching(/not-installed is not installed/),
    });
    await expect(engine.transcribe(wav, call())).rejects.toEqual(
      failure('transcription_engine_unavailable', /operator/),
    );
    const onPath = createCommandEngine({ command: ['ttt-no-such-program-on-path', '{wav}'] });
    await expect(onPath.probe()).resolves.toMatchObject({ available: false });
  });

  it('stops a program that runs past its time limit', async () => {
    const engine = createCommandEngine({ command: [await script('stuck', 'exec sleep 30'), '{wav}'], timeoutMs: 200 });
    await expect(engine.transcribe(wav, call())).rejects.toEqual(failure('transcription_failed', /longer than 0\.2 s/));
  });

  it('kills the program when aborted and rejects with the reason', async () => {
    const marker = join(dir, 'started');
    const engine = createCommandEngine({
      command: [await script('slow', `touch "${marker}"; exec sleep 30`), '{wav}'],
    });
    const controller = new AbortController();
    const outcome = engine.transcribe(wav, call({ signal: controller.signal })).catch((e: unknown) => e);
    await vi.waitFor(() => access(marker));
    const reason = new DOMException('time is up', 'TimeoutError');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
  });

  it('refuses to be built without a command', () => {
    expect(() => createCommandEngine({ command: [] })).toThrow(/needs a command/);
  });
});
