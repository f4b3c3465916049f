/**
 * `npm test` runs this first (the `pretest` script): the suite needs system tools that npm cannot install
 * (ffmpeg, pocketsphinx with its en-us model and test clips, espeak-ng, chromium). Missing ones are installed
 * with apt-get when that needs no prompt (root, or sudo without a password; PLUCT_SYSTEM_PACKAGES=0 turns it
 * off), each command printed with why. Anything still missing stops the run here, naming each tool and the exact
 * command, before vitest starts: never a silent skip, never a bare `spawn ffmpeg ENOENT` in some test.
 */
import { ensureTools, testTools, thisMachine } from './stack/system-tools.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const report = ensureTools(testTools(process.env), thisMachine(process.env), 'npm test', say);
if (report.installed.length > 0) say(`npm test: installed ${report.installed.map((t) => t.name).join(', ')}.`);
if (report.missing.length > 0) {
  process.stderr.write(
    [
      'npm test: the tests cannot run without these system tools:',
      ...report.lines.map((l) => `  ${l}`),
      'Install them, then run npm test again.',
      '',
    ].join('\n'),
  );
  process.exit(1);
}
