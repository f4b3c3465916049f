import { createPluctClient } from '../../sdk/pluct-client.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, optionalString, type Command } from '../command.js';
import { DevTokenError, parseTtl } from '../dev-token.js';
import { ENGINE_OPTION, ENV_FILE_OPTION, engineUrl, loadLocalEnv } from '../local-env.js';
import { errorJson, printError } from '../print-error.js';
import { createProgressDisplay } from '../progress-display.js';
import { USER_TOKEN_OPTIONS, userTokenFor } from '../user-token.js';

/**
 * `pluct transcribe <url>`: the whole flow (vend 1 credit, submit, poll) through the SDK; prints the transcript.
 *
 * @example
 * // pluct transcribe https://media.example.com/clip.mp4 > transcript.txt
 */
export const transcribeCommand: Command = {
  name: 'transcribe',
  summary: 'Transcribe a video or audio URL (vend, submit, poll) and print the transcript.',
  usage: 'transcribe <URL> [--language <LANG>] [--engine <URL>] [--token <JWT> | --sub <ID>] [--timeout <DURATION>] [--json]',
  description: `
Runs the whole flow against the Business Engine with the SDK: vends a service token (1 credit), submits the
URL with it at once, then polls the job with backoff until it completes or fails. Progress goes to stderr
(a redrawn bar on a terminal, plain lines otherwise); the transcript goes to stdout. On failure it prints the
catalog error with what to do and the request id, and exits 1. Ctrl-C stops waiting (the job keeps running).`,
  positionals: 1,
  options: {
    language: { type: 'string', value: 'LANG', description: 'Language hint, e.g. en or en-US.' },
    engine: ENGINE_OPTION,
    ...USER_TOKEN_OPTIONS,
    timeout: { type: 'string', value: 'DURATION', description: 'How long to poll: seconds, or 5m / 1h (default 10m).' },
    'env-file': ENV_FILE_OPTION,
    json: { type: 'boolean', description: 'Print the outcome (or the error) as JSON on stdout.' },
  },
  examples: ['pluct transcribe https://media.example.com/clip.mp4', 'pluct transcribe https://vm.tiktok.com/ZM123/ --language en --json'],
  async run(values, positionals, io) {
    const url = positionals[0];
    if (!url) throw new UsageError('the URL to transcribe is required.');
    const timeoutText = optionalString(values, 'timeout') ?? '10m';
    const timeoutSec = parseTtl(timeoutText);
    if (timeoutSec === undefined || timeoutSec < 1) throw new UsageError(`--timeout '${timeoutText}' is not a duration.`);
    let getUserToken;
    try {
      ({ getUserToken } = await userTokenFor(values, io, loadLocalEnv(values, io)));
    } catch (error) {
      if (!(error instanceof DevTokenError)) throw error;
      io.err(`pluct transcribe: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    const pluct = createPluctClient({ baseUrl: engineUrl(values, io), getUserToken });
    const display = createProgressDisplay(io);
    const controller = new AbortController();
    const onSigint = () => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSigint);
    const language = optionalString(values, 'language');
    const { data, error } = await pluct.transcribe(url, {
      ...(language ? { language } : {}),
      signal: controller.signal,
      poll: { timeoutMs: timeoutSec * 1000 },
      onProgress: (p) => display.update(p),
    }).finally(() => process.removeListener('SIGINT', onSigint));
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
