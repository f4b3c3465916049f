import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname } from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.mp4': 'video/mp4',
  '.m4a': 'audio/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.flac': 'audio/flac',
  '.aac': 'audio/aac',
};

/** One local file served for one job. */
export interface LocalMedia {
  /** The URL TTTranscribe fetches: 127.0.0.1, an ephemeral port and a random, unguessable path (valid while the job runs). */
  readonly url: string;
  /** How many times the file was sent (a job fetches it once). */
  readonly served: () => number;
  close(): Promise<void>;
}

/**
 * Whether a `pluct transcribe` argument is a URL (`https://…`) rather than a path to a local file.
 *
 * @example
 * isUrl('./clip.mp4'); // false
 */
export function isUrl(argument: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(argument);
}

/**
 * Serves one local file on 127.0.0.1 (port 0: the system picks a free one) under a random path that nobody can
 * guess, for as long as the job runs: any other path or method gets 404/405, and `close()` stops the server. The
 * local TTTranscribe fetches it like any media URL, which needs TTT_ALLOW_PRIVATE_CIDRS to include 127.0.0.1
 * (the `.env` that `npm start` writes does).
 *
 * @example
 * const media = await serveLocalFile('./clip.mp4');
 * try { await pluct.transcribe(media.url); } finally { await media.close(); }
 */
export async function serveLocalFile(path: string): Promise<LocalMedia> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  const name = encodeURIComponent(basename(path));
  const secretPath = `/${randomBytes(24).toString('base64url')}/${name}`;
  const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
  let served = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== secretPath) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(info.size), 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    served += 1;
    createReadStream(path)
      .on('error', () => res.destroy())
      .pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${secretPath}`,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
