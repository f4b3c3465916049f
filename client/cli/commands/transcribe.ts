import { resolve } from 'node:path';
import { createPluctClient } from '../../sdk/pluct-client.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, optionalString, type Command } from '../command.js';
import { DevTokenError, parseTtl } from '../dev-token.js';
import { ENGINE_OPTION, ENV_FILE_OPTION, engineUrl, loadLocalEnv } from '../local-env.js';
import { isUrl, serveLocalFile, type LocalMedia } from '../local-media-server.js';
import { errorJson, printError } from '../print-error.js';
import { createProgressDisplay } from '../progress-display.js';
import { USER_TOKEN_OPTIONS, userTokenFor } from '../user-token.js';

/**
 * `pluct transcribe <url-or-file>`: the whole flow (vend 1 credit, submit, poll) through the SDK; prints the
 * transcript. A local file is served on 127.0.0.1 under a random path for the job's duration.
 *
 * @example
 * // pluct transcribe https://media.example.com/clip.mp4 > transcript.txt
 * // pluct transcribe ./clip.mp4
 */
export const transcribeCommand: Command = {
  name: 'transcribe',
  summary: 'Transcribe a video or audio URL or local file (vend, submit, poll) and print the transcript.',
  usage:
    'transcribe <URL|FILE> [--language <LANG>] [--engine <URL>] [--token <JWT> | --sub <ID>] [--timeout <DURATION>] [--json]',
  description: `
Runs the whole flow against the Business Engine with the SDK: vends a service token (1 credit), submits the
URL with it at once, then polls the job with backoff until it completes or fails. Progress goes to stderr
(a redrawn bar on a terminal, plain lines otherwise); the transcript goes to stdout. On failure it prints the
catalog error with what to do and the request id, and exits 1. Ctrl-C stops waiting (the job keeps running).

A path instead of a URL (./clip.mp4) is served from this machine: on 127.0.0.1, an ephemeral port and a random
random path, only while the job runs. That works with a TTTranscribe on this machine that allows loopback
media (TTT_ALLOW_PRIVATE_CIDRS=127.0.0.0/8, which the .env of npm start sets; a production service refuses it).`,
  positionals: 1,
  options: {
    language: { type: 'string', value: 'LANG', description: 'Language hint, e.g. en or en-US.' },
    engine: ENGINE_OPTION,
    ...USER_TOKEN_OPTIONS,
    timeout: { type: 'string', value: 'DURATION', description: 'How long to poll: seconds, or 5m / 1h (default 10m).' },
    'env-file': ENV_FILE_OPTION,
    json: { type: 'boolean', description: 'Print the outcome (or the error) as JSON on stdout.' },
  },
  examples: [
    'pluct transcribe ./clip.mp4',
    'pluct transcribe https://media.example.com/clip.mp4',
    'pluct transcribe https://vm.tiktok.com/ZM123/ --language en --json',
  ],
  async run(values, positionals, io) {
    const target = positionals[0];
    if (!target) throw new UsageError('the URL or file to transcribe is required.');
    const timeoutText = optionalString(values, 'timeout') ?? '10m';
    const timeoutSec = parseTtl(timeoutText);
    if (timeoutSec === undefined || timeoutSec < 1)
      throw new UsageError(`--timeout '${timeoutText}' is not a duration.`);
    let getUserToken;
    try {
      ({ getUserToken } = await userTokenFor(values, io, loadLocalEnv(values, io)));
    } catch (error) {
      if (!(error instanceof DevTokenError)) throw error;
      io.err(`pluct transcribe: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    let media: LocalMedia | undefined;
    if (!isUrl(target)) {
      try {
        media = await serveLocalFile(resolve(io.cwd, target));
      } catch (error) {
        io.err(
          `pluct transcribe: cannot read the local file ${target}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Pass a readable file or an http(s) URL.\n`,
        );
        return EXIT_FAILURE;
      }
      io.err(`Serving ${target} to TTTranscribe on 127.0.0.1 (a random path, for this job only).\n`);
    }
    const url = media?.url ?? target;
    const pluct = createPluctClient({ baseUrl: engineUrl(values, io), getUserToken });
    const display = createProgressDisplay(io);
    const controller = new AbortController();
    const onSigint = () => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSigint);
    const language = optionalString(values, 'language');
    const { data, error } = await pluct
      .transcribe(url, {
        ...(language ? { language } : {}),
        signal: controller.signal,
        poll: { timeoutMs: timeoutSec * 1000 },
        onProgress: (p) => display.update(p),
      })
      .finally(async () => {
        process.removeListener('SIGINT', onSigint);
        await media?.close();
      });
    display.finish();
    if (values['json']) {
      io.out(`${JSON.stringify(error ? { ok: false, error: errorJson(error) } : { ok: true, ...data })}\n`);
      return error ? EXIT_FAILURE : EXIT_OK;
    }
    if (error) {
      printError(error, io);
      return EXIT_FAILURE;
    }
    io.out(`${data.transcript}\n`);
    return EXIT_OK;
  },
};
