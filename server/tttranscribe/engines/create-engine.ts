import { z } from 'zod';
import { placeholdersOf, splitCommandLine } from '../process/command-line.js';
import { createCommandEngine } from './command-engine.js';
import { createPocketsphinxEngine } from './pocketsphinx-engine.js';
import { engineUnavailable, type TranscriptionEngine } from './transcription-engine.js';

const COMMAND_PLACEHOLDERS = new Set(['wav', 'language', 'output']);
const onlyKnownPlaceholders = (argv: readonly string[]): boolean =>
  [...placeholdersOf(argv)].every((p) => COMMAND_PLACEHOLDERS.has(p));
const timeoutMs = z.number().int().positive().optional();

/** Validates an engine configuration; used by `createEngine` and by the media processor options. */
export const engineConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('pocketsphinx'),
    program: z.string().min(1).optional(),
    modelDir: z.string().min(1).optional(),
    timeoutMs,
  }),
  z.strictObject({
    kind: z.literal('command'),
    command: z.union([z.string().transform((s) => splitCommandLine(s)), z.array(z.string()).readonly()]).pipe(
      z
        .array(z.string())
        .readonly()
        .refine((argv) => argv.length > 0 && argv[0] !== '', 'must name a program to run')
        .refine((argv) => placeholdersOf(argv).has('wav'), 'must pass the audio file with the {wav} placeholder')
        .refine(onlyKnownPlaceholders, 'may only use the {wav}, {language} and {output} placeholders'),
    ),
    outputFile: z
      .string()
      .min(1)
      .refine((f) => onlyKnownPlaceholders([f]), 'may only use {wav}, {language} and {output}')
      .optional(),
    name: z.string().min(1).optional(),
    model: z.string().min(1).nullable().optional(),
    languages: z
      .array(
        z
          .string()
          .min(1)
          .transform((l) => l.toLowerCase()),
      )
      .readonly()
      .optional(),
    defaultLanguage: z.string().min(1).optional(),
    timeoutMs,
    realtimeFactor: z.number().positive().optional(),
  }),
  z.strictObject({ kind: z.literal('none') }),
]);

/**
 * Which engine transcribes, as plain data (suggested env: `TTT_TRANSCRIBER=pocketsphinx|command|none`,
 * `TTT_TRANSCRIBER_COMMAND`, `TTT_TRANSCRIBER_OUTPUT_FILE`, `TTT_TRANSCRIBER_MODEL`, `TTT_POCKETSPHINX_MODEL_DIR`).
 * A `command` may be a single string, split like a shell would but never run by one.
 */
export type EngineConfig = z.input<typeof engineConfigSchema>;

/**
 * The engine used when none is configured: it is never available and never transcribes.
 *
 * @example
 * (await createNoEngine().probe()).available; // false
 */
export function createNoEngine(): TranscriptionEngine {
  const reason = 'no transcription engine is configured (set TTT_TRANSCRIBER to pocketsphinx or command)';
  return {
    name: 'none',
    model: null,
    probe: () => Promise.resolve({ available: false, reason }),
    transcribe: () => Promise.reject(engineUnavailable(reason)),
  };
}

/**
 * Builds the engine a configuration names. Throws an `Error` for a configuration that can never work (e.g. the
 * `command` kind without a command, or a command without `{wav}`), so the service fails at start-up. A binary that
 * is merely missing is not an error here: `probe()` reports it and `transcribe` throws
 * `JobFailure('transcription_engine_unavailable')`.
 *
 * @example
 * const engine = createEngine({ kind: 'command', command: 'whisper-cli -m /models/base.bin -nt -f {wav}', model: 'base' });
 */
export function createEngine(config: EngineConfig): TranscriptionEngine {
  const parsed = engineConfigSchema.safeParse(config);
  if (!parsed.success) throw new Error(`Invalid transcription engine configuration:\n${z.prettifyError(parsed.error)}`);
  const c = parsed.data;
  switch (c.kind) {
    case 'pocketsphinx':
      return createPocketsphinxEngine(c);
    case 'command':
      return createCommandEngine(c);
    case 'none':
      return createNoEngine();
  }
}
