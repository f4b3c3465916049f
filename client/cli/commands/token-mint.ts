import { EXIT_FAILURE, EXIT_OK, UsageError, requireString, type Command } from '../command.js';
import { DEV_TOKEN_SCOPE, DevTokenError, mintDevToken, parseTtl } from '../dev-token.js';
import { ENV_FILE_OPTION, loadLocalEnv } from '../local-env.js';

/**
 * `pluct token mint`: a development user JWT signed with USER_JWT_SECRET from the local .env.
 *
 * @example
 * // export PLUCT_TOKEN=$(pluct token mint --sub me --ttl 1h)
 */
export const tokenMintCommand: Command = {
  name: 'token mint',
  summary: 'Mint a development user JWT from the local .env (USER_JWT_SECRET).',
  usage: 'token mint --sub <ID> [--ttl <DURATION>] [--scope <SCOPES>] [--env-file <PATH>] [--json]',
  description: `
Signs an HS256 user JWT with USER_JWT_SECRET (its raw UTF-8 bytes, as the engine verifies it), with the
claims the engine requires: sub, scope, iat, exp (and iss/aud when USER_JWT_ISSUER/USER_JWT_AUDIENCE are
set). Prints only the token, so it can be captured in a variable. For local development: real apps get user
tokens from their identity provider.`,
  options: {
    sub: { type: 'string', value: 'ID', description: "The user id (the token's subject)." },
    ttl: {
      type: 'string',
      value: 'DURATION',
      description: 'Lifetime: seconds or 15m / 2h (default 15m, at most 24h).',
    },
    scope: { type: 'string', value: 'SCOPES', description: `Space-separated scopes (default "${DEV_TOKEN_SCOPE}").` },
    'env-file': ENV_FILE_OPTION,
    json: { type: 'boolean', description: 'Print {"token","sub","scope","expiresAt"} as JSON.' },
  },
  examples: ['export PLUCT_TOKEN=$(pluct token mint --sub me)', 'pluct token mint --sub alice --ttl 2h --json'],
  async run(values, _positionals, io) {
    const sub = requireString(values, 'sub');
    const ttlText = typeof values['ttl'] === 'string' ? values['ttl'] : '15m';
    const ttlSec = parseTtl(ttlText);
    if (ttlSec === undefined) throw new UsageError(`--ttl '${ttlText}' is not a duration (use seconds, or 15m, 2h).`);
    const scope = typeof values['scope'] === 'string' ? values['scope'] : DEV_TOKEN_SCOPE;
    try {
      const minted = await mintDevToken(loadLocalEnv(values, io), { sub, ttlSec, scope });
      if (values['json']) {
        io.out(
          `${JSON.stringify({ token: minted.token, sub, scope, expiresAt: new Date(minted.expiresAt * 1000).toISOString() })}\n`,
        );
      } else {
        io.out(`${minted.token}\n`);
      }
      return EXIT_OK;
    } catch (error) {
      if (!(error instanceof DevTokenError)) throw error;
      io.err(`pluct token mint: ${error.message}\n`);
      return EXIT_FAILURE;
    }
  },
};
