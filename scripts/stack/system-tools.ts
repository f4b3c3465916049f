import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { DEFAULT_POCKETSPHINX_MODEL_DIR } from '../../server/tttranscribe/engines/pocketsphinx-engine.js';
import { findPostgresBinDir } from '../postgres/throwaway-cluster.js';

type Env = Readonly<Record<string, string | undefined>>;

/** A program or data file the stack or the tests need from the operating system, not from npm. */
export interface SystemTool {
  /** How people call it: `ffmpeg`, `pocketsphinx en-us model`. */
  readonly name: string;
  /** A program found on PATH (or at an absolute path), or a file that must exist. */
  readonly kind: 'program' | 'file';
  /** The program name or path, or the file's path. */
  readonly target: string;
  /** The Debian/Ubuntu package that provides it. */
  readonly debianPackage: string;
  /** The Homebrew formula, when there is one that provides the same thing. */
  readonly brewFormula?: string;
  /** What stops working without it, for the banner. */
  readonly neededFor: string;
}

/** Where Debian's pocketsphinx-testdata puts the LibriVox clips and their reference transcripts. */
export const LIBRIVOX_DIR = '/usr/share/pocketsphinx/test/data/librivox';

/**
 * The tools the running stack needs for transcription, following TTTranscribe's own settings: `TTT_FFMPEG_PATH`,
 * `TTT_POCKETSPHINX_MODEL_DIR`, and no pocketsphinx at all when `TTT_TRANSCRIBER` names another engine.
 *
 * @example
 * const missing = missingTools(stackTools(process.env), process.env);
 */
export function stackTools(env: Env): SystemTool[] {
  const tools: SystemTool[] = [
    {
      name: 'ffmpeg',
      kind: 'program',
      target: env['TTT_FFMPEG_PATH'] || 'ffmpeg',
      debianPackage: 'ffmpeg',
      brewFormula: 'ffmpeg',
      neededFor: 'decoding every media file before transcription',
    },
  ];
  if ((env['TTT_TRANSCRIBER'] || 'pocketsphinx') === 'pocketsphinx') {
    const modelDir = env['TTT_POCKETSPHINX_MODEL_DIR'] || DEFAULT_POCKETSPHINX_MODEL_DIR;
    tools.push(
      {
        name: 'pocketsphinx_continuous',
        kind: 'program',
        target: 'pocketsphinx_continuous',
        debianPackage: 'pocketsphinx',
        neededFor: 'speech recognition, the default engine',
      },
      {
        name: 'pocketsphinx en-us model',
        kind: 'file',
        target: join(modelDir, 'en-us.lm.bin'),
        debianPackage: 'pocketsphinx-en-us',
        neededFor: 'speech recognition in US English',
      },
    );
  }
  return tools;
}

/**
 * The tools `npm test` needs on top of the stack's: synthetic speech, the LibriVox clips and a browser for the
 * offline docs test (`CHROMIUM_PATH`, default /usr/bin/chromium).
 *
 * @example
 * const tools = testTools(process.env);
 */
export function testTools(env: Env): SystemTool[] {
  return [
    ...stackTools({ ...env, TTT_TRANSCRIBER: 'pocketsphinx', TTT_FFMPEG_PATH: '', TTT_POCKETSPHINX_MODEL_DIR: '' }),
    {
      name: 'espeak-ng',
      kind: 'program',
      target: 'espeak-ng',
      debianPackage: 'espeak-ng',
      brewFormula: 'espeak-ng',
      neededFor: 'synthetic speech in the media tests',
    },
    {
      name: 'pocketsphinx-testdata',
      kind: 'file',
      target: join(LIBRIVOX_DIR, 'transcription'),
      debianPackage: 'pocketsphinx-testdata',
      neededFor: 'the LibriVox clips the recognition tests score',
    },
    {
      name: 'chromium',
      kind: 'program',
      target: env['CHROMIUM_PATH'] || '/usr/bin/chromium',
      debianPackage: 'chromium',
      neededFor: 'the offline docs browser test',
    },
    ...(env['PLUCT_TEST_DATABASE_URL']
      ? []
      : [
          {
            name: 'postgresql',
            kind: 'file',
            target: postgresInitdb(),
            debianPackage: 'postgresql',
            neededFor:
              'the throwaway PostgreSQL cluster of the storage and multi-replica tests (or set PLUCT_TEST_DATABASE_URL)',
          } as const,
        ]),
    {
      name: 'haproxy',
      kind: 'program',
      target: 'haproxy',
      debianPackage: 'haproxy',
      neededFor: 'the load balancer of the multi-replica tests',
    },
  ];
}

/** initdb where the throwaway cluster will look for it (Debian keeps it out of PATH), else where 15's would be. */
function postgresInitdb(): string {
  try {
    return join(findPostgresBinDir(), 'initdb');
  } catch {
    return '/usr/lib/postgresql/15/bin/initdb';
  }
}

/** The haproxy binary (Debian installs it in /usr/sbin, outside a normal user's PATH). */
export function findHaproxy(): string {
  for (const dir of [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    if (dir && existsSync(join(dir, 'haproxy'))) return join(dir, 'haproxy');
  }
  throw new Error(
    `haproxy not found. Install it: apt-get install -y haproxy (Debian/Ubuntu; CI installs it in .ci/run)`,
  );
}

/**
 * Finds a program the way `execFile` would (a name with a slash as given, else each absolute PATH entry).
 *
 * @example
 * findProgram('ffmpeg', process.env['PATH']); // '/usr/bin/ffmpeg' or null
 */
export function findProgram(program: string, pathEnv: string): string | null {
  const executable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes('/')) return executable(program) ? program : null;
  for (const dir of pathEnv.split(delimiter)) {
    if (dir !== '' && isAbsolute(dir) && executable(join(dir, program))) return join(dir, program);
  }
  return null;
}

/**
 * The tools of `tools` that are not there now.
 *
 * @example
 * missingTools(testTools(process.env), process.env).map((t) => t.name); // [] on a set-up machine
 */
export function missingTools(tools: readonly SystemTool[], env: Env): SystemTool[] {
  return tools.filter((tool) => {
    if (tool.kind === 'program') return findProgram(tool.target, env['PATH'] ?? '') === null;
    try {
      accessSync(tool.target, constants.R_OK);
      return false;
    } catch {
      return true;
    }
  });
}

/** How the missing tools can be installed here. */
export interface InstallPlan {
  /** The commands to run, as argv lists (empty when nothing can be installed by a package manager). */
  readonly commands: readonly (readonly string[])[];
  /** The same as a line a person can paste. */
  readonly manual: string;
  /** Whether `commands` may be run now without a prompt: a Debian-like system, root or password-less sudo, not disabled. */
  readonly automatic: boolean;
  /** Why it will not run them itself (when `automatic` is false). */
  readonly whyNot?: string;
  /** Tools no package manager here provides, each with what to do instead. */
  readonly unpackaged: ReadonlyArray<{ readonly tool: SystemTool; readonly advice: string }>;
}

/** What {@link planInstall} needs to know about the machine; tests pass their own. */
export interface Machine {
  readonly platform: NodeJS.Platform;
  readonly uid: number;
  readonly env: Env;
  /** Whether `sudo -n true` succeeds (sudo without a password prompt). */
  readonly sudoWithoutPassword: () => boolean;
}

/**
 * The real machine: this process's platform, user id and environment.
 *
 * @example
 * const plan = planInstall(missing, thisMachine());
 */
export function thisMachine(env: Env = process.env): Machine {
  return {
    platform: process.platform,
    uid: typeof process.getuid === 'function' ? process.getuid() : -1,
    env,
    sudoWithoutPassword: () => {
      const sudo = findProgram('sudo', env['PATH'] ?? '');
      return sudo !== null && spawnSync(sudo, ['-n', 'true'], { stdio: 'ignore', env, timeout: 5_000 }).status === 0;
    },
  };
}

/**
 * Decides how to install `missing`: apt-get on Debian/Ubuntu (run by this process when it is root or has sudo
 * without a password, unless `PLUCT_SYSTEM_PACKAGES=0`), Homebrew commands on macOS, otherwise the package names.
 *
 * @example
 * planInstall(missing, thisMachine()).manual; // 'sudo apt-get update && sudo apt-get install -y --no-install-recommends ffmpeg'
 */
export function planInstall(missing: readonly SystemTool[], machine: Machine): InstallPlan {
  const path = machine.env['PATH'] ?? '';
  const packages = [...new Set(missing.map((t) => t.debianPackage))];
  if (missing.length === 0) return { commands: [], manual: '', automatic: false, unpackaged: [] };
  if (machine.platform === 'linux' && findProgram('apt-get', path) !== null) {
    const update = ['apt-get', 'update'];
    const install = ['apt-get', 'install', '-y', '--no-install-recommends', ...packages];
    const disabled = machine.env['PLUCT_SYSTEM_PACKAGES'] === '0';
    const root = machine.uid === 0;
    const sudo = !root && !disabled && machine.sudoWithoutPassword();
    const asUser = (argv: string[]) => (root ? argv : ['sudo', ...(sudo ? ['-n'] : []), ...argv]);
    const commands = [asUser(update), asUser(install)];
    const manual = commands.map((argv) => argv.filter((a) => a !== '-n').join(' ')).join(' && ');
    const whyNot = disabled
      ? 'PLUCT_SYSTEM_PACKAGES=0 is set'
      : root || sudo
        ? undefined
        : 'installing needs root, and sudo asks for a password';
    return { commands, manual, automatic: whyNot === undefined, ...(whyNot ? { whyNot } : {}), unpackaged: [] };
  }
  const brewable = missing.filter((t) => t.brewFormula !== undefined);
  const unpackaged = missing
    .filter((t) => t.brewFormula === undefined)
    .map((tool) => ({
      tool,
      advice: tool.debianPackage.startsWith('pocketsphinx')
        ? `npm start knows no ${machine.platform} package for ${tool.name} (Debian's ${tool.debianPackage}): install it yourself, or configure another speech engine (docs/speech-engines.md)`
        : `install ${tool.name} (Debian package ${tool.debianPackage}) and put it on PATH`,
    }));
  const manual =
    machine.platform === 'darwin' && brewable.length > 0
      ? `brew install ${[...new Set(brewable.map((t) => t.brewFormula))].join(' ')}`
      : `install with your package manager: ${packages.join(' ')} (their Debian names)`;
  return {
    commands: [],
    manual,
    automatic: false,
    whyNot: `there is no apt-get on this ${machine.platform} machine`,
    unpackaged,
  };
}

/**
 * Runs the plan's commands, printing each one and why before it runs; stdout and stderr go to the terminal.
 * Resolves with the first failure, or null when every command succeeded.
 *
 * @example
 * const failure = runInstall(plan, missing, 'npm start', console.log);
 */
export function runInstall(
  plan: InstallPlan,
  missing: readonly SystemTool[],
  who: string,
  log: (line: string) => void,
  env: Env = process.env,
): string | null {
  log(
    `${who}: ${missing.map((t) => t.name).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing (${[...new Set(missing.map((t) => t.neededFor))].join('; ')}).`,
  );
  for (const argv of plan.commands) {
    log(`${who}: installing the Debian packages that provide them: ${argv.join(' ')}`);
    const result = spawnSync(argv[0] as string, argv.slice(1), {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.error)
      return `${argv.join(' ')} could not start (${(result.error as NodeJS.ErrnoException).code ?? result.error.message})`;
    if (result.status !== 0) return `${argv.join(' ')} exited with ${result.status ?? result.signal}`;
  }
  return null;
}

/** The outcome of {@link ensureTools}: what is still missing afterwards, each with its fix. */
export interface ToolsReport {
  readonly missing: readonly SystemTool[];
  /** One line per missing tool: `ffmpeg (decoding ...): sudo apt-get install ...`. */
  readonly lines: readonly string[];
  readonly installed: readonly SystemTool[];
}

/**
 * Checks the tools, installs the missing ones when {@link planInstall} allows it, checks again and reports what is
 * still missing with the exact fix for each.
 *
 * @example
 * const report = ensureTools(stackTools(process.env), thisMachine(), 'npm start', console.log);
 */
export function ensureTools(
  tools: readonly SystemTool[],
  machine: Machine,
  who: string,
  log: (line: string) => void,
): ToolsReport {
  const before = missingTools(tools, machine.env);
  if (before.length === 0) return { missing: [], lines: [], installed: [] };
  const plan = planInstall(before, machine);
  let failure: string | null = null;
  if (plan.automatic) failure = runInstall(plan, before, who, log, machine.env);
  const after = plan.automatic ? missingTools(tools, machine.env) : before;
  const installed = before.filter((t) => !after.includes(t));
  const unpackaged = new Map(plan.unpackaged.map((u) => [u.tool, u.advice]));
  const why = failure ? `; the install failed: ${failure}` : plan.whyNot ? ` (not run: ${plan.whyNot})` : '';
  const lines = after.map((t) => `${t.name} (${t.neededFor}): ${unpackaged.get(t) ?? `${plan.manual}${why}`}`);
  return { missing: after, lines, installed };
}
