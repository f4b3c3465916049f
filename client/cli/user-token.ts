import type { GetUserToken } from '../sdk/token-manager.js';
import type { OptionSpec, Values } from './command.js';
import type { Io } from './command.js';
import { DEV_TOKEN_SCOPE, DevTokenError, mintDevToken } from './dev-token.js';
import type { LocalEnv } from './local-env.js';

/** Options of the commands that call the engine as a user. */
export const USER_TOKEN_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  token: {
    type: 'string',
    value: 'JWT',
    description: 'The user JWT (default: $PLUCT_TOKEN, else a dev token minted from .env).',
  },
  sub: {
    type: 'string',
    value: 'ID',
    description: 'With no token given: the user id of the dev token minted from .env (default: dev-user).',
  },
};

/** Where the user token comes from, for messages. */
export type UserTokenSource = 'option' | 'environment' | 'dev-mint';

/**
 * The SDK's `getUserToken` for a CLI command: `--token`, else `PLUCT_TOKEN`, else a dev token minted from the local
 * .env for `--sub` (each call mints a fresh one, so the SDK's refresh-ahead works as with a real auth backend).
 *
 * @throws DevTokenError when no token is given and none can be minted.
 * @example
 * const { getUserToken } = await userTokenFor(values, io, loadLocalEnv(values, io));
 */
export async function userTokenFor(
  values: Values,
  io: Io,
  local: LocalEnv,
): Promise<{ getUserToken: GetUserToken; source: UserTokenSource }> {
  if (typeof values['token'] === 'string' && values['token'] !== '') {
    const token = values['token'];
    return { getUserToken: () => Promise.resolve(token), source: 'option' };
  }
  const fromEnv = io.env['PLUCT_TOKEN'];
  if (fromEnv) return { getUserToken: () => Promise.resolve(fromEnv), source: 'environment' };
  const sub = typeof values['sub'] === 'string' && values['sub'] !== '' ? values['sub'] : 'dev-user';
  const mint = async () => (await mintDevToken(local, { sub, ttlSec: 900, scope: DEV_TOKEN_SCOPE })).token;
  try {
    await mint(); // fail early with the reason, rather than as a token_refresh_failed later
  } catch (error) {
    if (!(error instanceof DevTokenError)) throw error;
    throw new DevTokenError(
      `No user token: pass --token, or set PLUCT_TOKEN (export PLUCT_TOKEN=$(npx pluct token mint --sub me)). ${error.message}`,
    );
  }
  return { getUserToken: mint, source: 'dev-mint' };
}
