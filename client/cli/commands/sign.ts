import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENGINE_AUTH_HEADER, sha256Hex, signEngineAuth } from '../../../server/protocol/engine-auth.js';
import { SharedSecretError, engineAuthKeysFromEnv } from '../../../server/protocol/engine-auth-secret.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, optionalString, requireString, type Command } from '../command.js';
import { ENV_FILE_OPTION, loadLocalEnv } from '../local-env.js';

/**
 * `pluct sign`: computes an X-Engine-Auth v1 header with the one shared implementation and shows the string it
 * signed, to compare with another implementation (or with `details.stringToSign` of an
 * `invalid_engine_auth_header` error).
 *
 * @example
 * // TTT_SHARED_SECRET=tttsk_… pluct sign --method POST --url http://127.0.0.1:8788/transcribe --body '{"url":"…"}' --token eyJ…
 */
export const signCommand: Command = {
  name: 'sign',
  summary: 'Print the X-Engine-Auth header and stringToSign for a request (debugging).',
  usage:
    'sign --method <METHOD> --url <URL> [--body <TEXT|@FILE>] [--token <TOKEN>] [--timestamp <T> --nonce <N>] [options]',
  description: `
Signs one request with TTT_SHARED_SECRET (and TTT_SHARED_SECRET_NEXT when set) from the environment or the
local .env, exactly as the Business Engine does, and prints the X-Engine-Auth header, the key ids and the
string to sign. The string to sign holds only hashes of the body and token, so it is safe to share; the
secret itself is never printed. --timestamp and --nonce fix the otherwise fresh values, to reproduce a test
vector or another signer's header.`,
  options: {
    method: { type: 'string', value: 'METHOD', description: 'HTTP method, e.g. POST.' },
    url: {
      type: 'string',
      value: 'URL',
      description: 'Full URL or request target (/transcribe?x=1); signed as fetch sends it.',
    },
    body: {
      type: 'string',
      value: 'TEXT|@FILE',
      description: 'The exact body (UTF-8), or @path to read its bytes; default empty.',
    },
    token: { type: 'string', value: 'TOKEN', description: 'The bearer token sent in Authorization (default: none).' },
    timestamp: { type: 'string', value: 'UNIX_SECONDS', description: 'Fixed timestamp (default: now).' },
    nonce: { type: 'string', value: 'NONCE', description: 'Fixed nonce, 22 base64url characters (default: random).' },
    'env-file': ENV_FILE_OPTION,
    json: {
      type: 'boolean',
      description: 'Print {"header","stringToSign","timestamp","nonce","keyIds","target"} as JSON.',
    },
  },
  examples: [
    'pluct sign --method GET --url http://127.0.0.1:8788/health',
    'pluct sign --method POST --url /transcribe --body @body.json --token "$SERVICE_TOKEN" --json',
  ],
  async run(values, _positionals, io) {
    const method = requireString(values, 'method').toUpperCase();
    const rawUrl = requireString(values, 'url');
    const target = requestTarget(rawUrl);
    const bodyText = optionalString(values, 'body');
    const body = bodyText?.startsWith('@')
      ? new Uint8Array(readFileSync(resolve(io.cwd, bodyText.slice(1))))
      : bodyText;
    const bearerToken = optionalString(values, 'token');
    const timestamp = optionalString(values, 'timestamp');
    if (timestamp !== undefined && !/^\d{1,12}$/.test(timestamp))
      throw new UsageError('--timestamp must be unix seconds.');
    const nonce = optionalString(values, 'nonce');

    const local = loadLocalEnv(values, io);
    let keys;
    try {
      keys = engineAuthKeysFromEnv({
        TTT_SHARED_SECRET: local.get('TTT_SHARED_SECRET'),
        TTT_SHARED_SECRET_NEXT: local.get('TTT_SHARED_SECRET_NEXT'),
      });
    } catch (error) {
      if (!(error instanceof SharedSecretError)) throw error;
      io.err(`pluct sign: ${error.message}\n(looked in the environment and ${local.path})\n`);
      return EXIT_FAILURE;
    }
    let signed;
    try {
      signed = signEngineAuth({
        keys,
        method,
        target,
        body,
        bearerToken,
        ...(timestamp !== undefined ? { now: () => Number(timestamp) * 1000 } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
      });
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      throw new UsageError(error.message);
    }
    const keyIds = keys.map((k) => k.keyId);
    if (values['json']) {
      io.out(
        `${JSON.stringify({ header: signed.header, stringToSign: signed.stringToSign, timestamp: signed.timestamp, nonce: signed.nonce, keyIds, target })}\n`,
      );
      return EXIT_OK;
    }
    io.out(
      [
        `${ENGINE_AUTH_HEADER}: ${signed.header}`,
        '',
        `key ids:        ${keyIds.join(', ')}`,
        `request target: ${target}`,
        `body sha256:    ${sha256Hex(body)}`,
        `token sha256:   ${sha256Hex(bearerToken ?? '')}${bearerToken === undefined ? ' (no Authorization header)' : ''}`,
        '',
        'stringToSign (8 lines joined by LF, no trailing newline):',
        signed.stringToSign,
        '',
      ].join('\n'),
    );
    return EXIT_OK;
  },
};

/** The origin-form target fetch sends for a URL or path: path plus query, normalised the way fetch does. */
function requestTarget(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw, 'http://target.invalid');
  } catch {
    throw new UsageError(`--url '${raw}' is not a URL or path.`);
  }
  return url.pathname + url.search;
}
