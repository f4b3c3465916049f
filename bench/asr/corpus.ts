import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** One recording with what was really said. */
export interface AsrClip {
  readonly id: string;
  readonly wavPath: string;
  readonly reference: string;
}

/** Where Debian's pocketsphinx-testdata puts its LibriVox clips and their `transcription` file. */
export { LIBRIVOX_DIR } from '../../scripts/stack/system-tools.js';

/**
 * Parses a CMU Sphinx `transcription` file: one `<s> words </s> (id)` line per clip, the clip being `<id>.wav`
 * next to it.
 *
 * @example
 * parseSphinxTranscription('<s> he was not </s> (clip-1)\n', '/data'); // [{ id: 'clip-1', wavPath: '/data/clip-1.wav', reference: 'he was not' }]
 */
export function parseSphinxTranscription(text: string, dir: string): AsrClip[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const match = /^(?:<s>)?\s*(.*?)\s*(?:<\/s>)?\s*\(([^()]+)\)\s*$/.exec(line.trim());
      if (match === null) throw new Error(`Not a "<s> words </s> (id)" line: ${line}`);
      const id = match[2] as string;
      return { id, wavPath: join(dir, `${id}.wav`), reference: match[1] as string };
    });
}

/**
 * The clips of a folder: a Sphinx `transcription` file when there is one (the LibriVox test data), otherwise every
 * `name.wav` that has a `name.txt` with its reference transcript. Sorted by id; an empty folder is an error.
 *
 * @example
 * const clips = await loadCorpus(LIBRIVOX_DIR);
 * const mine = await loadCorpus('./recordings'); // a.wav + a.txt, b.wav + b.txt
 */
export async function loadCorpus(dir: string): Promise<AsrClip[]> {
  const names = await readdir(dir);
  let clips: AsrClip[];
  if (names.includes('transcription')) {
    clips = parseSphinxTranscription(await readFile(join(dir, 'transcription'), 'utf8'), dir);
  } else {
    const texts = new Set(names.filter((n) => n.endsWith('.txt')).map((n) => basename(n, '.txt')));
    const ids = names
      .filter((n) => n.toLowerCase().endsWith('.wav'))
      .map((n) => n.slice(0, -4))
      .filter((id) => texts.has(id));
    clips = await Promise.all(
      ids.map(async (id) => ({
        id,
        wavPath: join(dir, `${id}.wav`),
        reference: (await readFile(join(dir, `${id}.txt`), 'utf8')).trim(),
      })),
    );
  }
  if (clips.length === 0)
    throw new Error(`${dir} holds no clips: put name.wav files there with their reference transcripts as name.txt`);
  return clips.sort((a, b) => a.id.localeCompare(b.id));
}
