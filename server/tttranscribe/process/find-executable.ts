import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds a program the way `execFile` would: a name containing a slash is used as given, otherwise each `PATH`
 * entry is searched. Returns the path to run, or `null` when there is no executable file, so probes can say
 * "not installed" without starting anything.
 *
 * @example
 * await findExecutable('ffmpeg'); // '/usr/bin/ffmpeg' or null
 */
export async function findExecutable(program: string, pathEnv = process.env['PATH'] ?? ''): Promise<string | null> {
  if (program.includes('/')) {
    return (await isExecutableFile(program)) ? program : null;
  }
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, program);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return null;
}
