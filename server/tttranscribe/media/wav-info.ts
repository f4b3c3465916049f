import { open } from 'node:fs/promises';

/** The format and length of a PCM WAV file. */
export interface WavInfo {
  readonly sampleRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
  readonly dataBytes: number;
  readonly durationSec: number;
}

/**
 * Reads a RIFF/WAVE header (walking chunks such as ffmpeg's `LIST` until `data`) and computes the duration from
 * the data size. Throws if the file is not a PCM WAV.
 *
 * @example
 * const { durationSec } = await readWavInfo('/tmp/job/audio.wav');
 */
export async function readWavInfo(path: string): Promise<WavInfo> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const { size } = await file.stat();
    return parseWavHeader(head.subarray(0, bytesRead), size);
  } finally {
    await file.close();
  }
}

/**
 * Parses the start of a WAV file. `fileSize` bounds the data size (some writers leave it as 0xFFFFFFFF).
 *
 * @example
 * parseWavHeader(await readFile('a.wav'), (await stat('a.wav')).size).sampleRate; // 16000
 */
export function parseWavHeader(buf: Buffer, fileSize: number): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('Not a RIFF/WAVE file');
  }
  let offset = 12;
  let format: { sampleRate: number; channels: number; bitsPerSample: number } | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ' && body + 16 <= buf.length) {
      format = {
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (format === undefined) throw new Error('WAV data chunk before fmt chunk');
      const dataBytes = Math.min(size, fileSize - body);
      const bytesPerSecond = format.sampleRate * format.channels * (format.bitsPerSample / 8);
      return { ...format, dataBytes, durationSec: bytesPerSecond > 0 ? dataBytes / bytesPerSecond : 0 };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV file has no data chunk');
}
