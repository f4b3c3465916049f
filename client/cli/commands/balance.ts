import { createPluctClient } from '../../sdk/pluct-client.js';
import { EXIT_FAILURE, EXIT_OK, type Command } from '../command.js';
import { DevTokenError } from '../dev-token.js';
import { ENGINE_OPTION, ENV_FILE_OPTION, engineUrl, loadLocalEnv } from '../local-env.js';
import { errorJson, printError } from '../print-error.js';
import { USER_TOKEN_OPTIONS, userTokenFor } from '../user-token.js';

/**
 * `pluct balance`: the user's credits, through the SDK.
 *
 * @example
 * // PLUCT_TOKEN=eyJ… pluct balance --engine https://engine.example.com
 */
export const balanceCommand: Command = {
  name: 'balance',
  summary: "Show the user's credit balance.",
  usage: 'balance [--engine <URL>] [--token <JWT> | --sub <ID>] [--json]',
  description: `
Calls GET /v1/credits/balance on the Business Engine with the user's JWT and prints the balance (main and
bonus credits; bonus is spent first). On the local stack no token is needed: a dev token is minted from .env.`,
  options: {
    engine: ENGINE_OPTION,
    ...USER_TOKEN_OPTIONS,
    'env-file': ENV_FILE_OPTION,
    json: { type: 'boolean', description: 'Print the engine answer (or the error) as JSON.' },
  },
  examples: ['pluct balance', 'PLUCT_TOKEN=$(pluct token mint --sub alice) pluct balance --json'],
  async run(values, _positionals, io) {
    let getUserToken;
    try {
      ({ getUserToken } = await userTokenFor(values, io, loadLocalEnv(values, io)));
    } catch (error) {
      if (!(error instanceof DevTokenError)) throw error;
      io.err(`pluct balance: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    const pluct = createPluctClient({ baseUrl: engineUrl(values, io), getUserToken });
    const { data, error } = await pluct.balance();
    if (values['json']) {
      io.out(`${JSON.stringify(error ? { ok: false, error: errorJson(error) } : data)}\n`);
      return error ? EXIT_FAILURE : EXIT_OK;
    }
    if (error) {
      printError(error, io);
      return EXIT_FAILURE;
    }
    io.out(
      `${data.userId}: ${data.balance} credit${data.balance === 1 ? '' : 's'} (main ${data.main}, bonus ${data.bonus})\n`,
    );
    return EXIT_OK;
  },
};
