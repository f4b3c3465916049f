import { createBusinessEngineClient } from '../../../generated/business-engine/client.js';
import { errorFromThrown, problemFromBody } from '../../sdk/errors.js';
import { REQUEST_ID_HEADER, newRequestId } from '../../sdk/request-id.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, optionalString, requireString, type Command } from '../command.js';
import { ENGINE_OPTION, ENV_FILE_OPTION, engineUrl, loadLocalEnv } from '../local-env.js';
import { errorJson, printError } from '../print-error.js';

/**
 * `pluct credits grant`: adds credits to a user through the engine's admin endpoint, with ADMIN_TOKEN from the
 * local .env (or the environment); the token is sent, never printed.
 *
 * @example
 * // pluct credits grant --user me --amount 10 --reason "local testing"
 */
export const creditsGrantCommand: Command = {
  name: 'credits grant',
  summary: 'Grant credits to a user (admin token from the local .env).',
  usage:
    'credits grant --user <ID> --amount <N> [--reason <TEXT>] [--bonus] [--engine <URL>] [--env-file <PATH>] [--json]',
  description: `
Calls POST /admin/credits/grant on the Business Engine with ADMIN_TOKEN (from the environment, else the local
.env; never printed) and prints the user's new balance. Every user gets SIGNUP_BONUS_CREDITS (default 3) bonus
credits once, when first seen; each transcription costs 1. A grant is a ledger entry with its reason.`,
  options: {
    user: {
      type: 'string',
      value: 'ID',
      description: 'The user id (the sub of their JWT; pluct token mint --sub <ID>).',
    },
    amount: { type: 'string', value: 'N', description: 'Whole credits to add, 1 to 100000.' },
    reason: {
      type: 'string',
      value: 'TEXT',
      description: 'Why, recorded in the ledger (default "granted with pluct credits grant").',
    },
    bonus: { type: 'boolean', description: 'Add to the bonus bucket (spent first) instead of main.' },
    engine: ENGINE_OPTION,
    'env-file': ENV_FILE_OPTION,
    json: { type: 'boolean', description: 'Print the engine answer (or the error) as JSON.' },
  },
  examples: [
    'pluct credits grant --user me --amount 10',
    'pluct credits grant --user alice --amount 5 --reason "beta tester" --json',
  ],
  async run(values, _positionals, io) {
    const userId = requireString(values, 'user');
    const amountText = requireString(values, 'amount');
    const amount = Number(amountText);
    if (!/^\d+$/.test(amountText) || amount < 1 || amount > 100_000)
      throw new UsageError(`--amount '${amountText}' must be a whole number from 1 to 100000.`);
    const reason = optionalString(values, 'reason') ?? 'granted with pluct credits grant';
    const local = loadLocalEnv(values, io);
    const adminToken = local.get('ADMIN_TOKEN');
    if (!adminToken) {
      io.err(
        `pluct credits grant: no ADMIN_TOKEN in the environment or in ${local.path}${local.fileFound ? '' : ' (not found)'}. ` +
          'npm start writes one into the .env it creates; pass --env-file for another file.\n',
      );
      return EXIT_FAILURE;
    }
    const baseUrl = engineUrl(values, io);
    const requestId = newRequestId();
    let result;
    try {
      result = await createBusinessEngineClient({ baseUrl }).POST('/admin/credits/grant', {
        headers: { Authorization: `Bearer ${adminToken}`, [REQUEST_ID_HEADER]: requestId },
        body: { userId, amount, reason, bucket: values['bonus'] ? 'bonus' : 'main' },
      });
    } catch (thrown) {
      const error = errorFromThrown(thrown, requestId, baseUrl, undefined);
      if (values['json']) io.out(`${JSON.stringify({ ok: false, error: errorJson(error) })}\n`);
      else printError(error, io);
      return EXIT_FAILURE;
    }
    if (!result.data) {
      const error = problemFromBody(result.error, result.response, requestId);
      if (values['json']) io.out(`${JSON.stringify({ ok: false, error: errorJson(error) })}\n`);
      else printError(error, io);
      return EXIT_FAILURE;
    }
    const d = result.data;
    if (values['json']) io.out(`${JSON.stringify(d)}\n`);
    else
      io.out(
        `Granted ${amount} credit${amount === 1 ? '' : 's'} to ${d.userId}: balance ${d.balance} (main ${d.main}, bonus ${d.bonus}); ledger entry ${d.entryId}.\n`,
      );
    return EXIT_OK;
  },
};
