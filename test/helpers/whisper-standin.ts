import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `whisper-cli` into `dir`: a stand-in for whisper.cpp's CLI with its argument rules (`-m <model>` and
 * `-f <wav>` required, the WAV must be RIFF/WAVE, `-l`, `-nt`, `-np`, `-t` accepted, anything else refused with
 * exit 1 as whisper-cli does). It prints what it "heard" for the WAV's file name (`heard`, else `fallback`) the
 * way `-nt` prints segments, with a leading space, and appends its argv as a JSON line to `<dir>/whisper-cli.log`.
 *
 * @example
 * writeWhisperStandIn(bin, { 'a.wav': 'hello world' }, 'he was not an ill disposed young man');
 */
export function writeWhisperStandIn(dir: string, heard: Record<string, string>, fallback: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'whisper-cli');
  writeFileSync(
    path,
    `#!${process.execPath}
const { appendFileSync, readFileSync } = require('node:fs');
const { basename, join } = require('node:path');
const args = process.argv.slice(2);
appendFileSync(join(__dirname, 'whisper-cli.log'), JSON.stringify(args) + '\\n');
const opts = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '-nt' || a === '-np') opts[a] = true;
  else if (['-m', '-f', '-l', '-t'].includes(a) && i + 1 < args.length) opts[a] = args[++i];
  else { process.stderr.write('error: unknown argument: ' + a + '\\n'); process.exit(1); }
}
if (!opts['-m']) { process.stderr.write('error: no model given (-m)\\n'); process.exit(1); }
if (!opts['-f']) { process.stderr.write('error: no input files specified\\n'); process.exit(2); }
let head;
try { head = readFileSync(opts['-f']).subarray(0, 12).toString('latin1'); } catch (e) { process.stderr.write('error: input file not found\\n'); process.exit(2); }
if (!head.startsWith('RIFF') || head.slice(8) !== 'WAVE') { process.stderr.write('error: failed to read WAV file\\n'); process.exit(3); }
const heard = ${JSON.stringify(heard)};
const text = heard[basename(opts['-f'])] ?? ${JSON.stringify(fallback)};
process.stdout.write('\\n' + text.split('. ').map((s) => ' ' + s).join('\\n') + '\\n\\n');
`,
  );
  chmodSync(path, 0o755);
  return path;
}
