import { randomUUID } from 'node:crypto';
import { createBusinessEngineClient } from '../../../generated/business-engine/client.js';
import { errorFromThrown, problemFromBody, type PluctError } from '../../sdk/errors.js';
import { REQUEST_ID_HEADER, newRequestId } from '../../sdk/request-id.js';
import { EXIT_FAILURE, EXIT_OK, UsageError, optionalString, requireString, type Command } from '../command.js';
import { ENGINE_OPTION, ENV_FILE_OPTION, engineUrl, loadLocalEnv } from '../local-env.js';
import { errorJson, printError } from '../print-error.js';

/** Sends of one grant when the engine answers 502/503/504 or not at all (the same key each time: credited once). */
const GRANT_ATTEMPTS = 3;
const RETRIED_STATUSES = new Set([502, 503, 504]);
const RETRY_PAUSE_MS = 500;
/** The longest Retry-After the CLI honours between two sends. */
const MAX_RETRY_AFTER_MS = 10_000;

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
    'credits grant --user <ID> --amount <N> [--reason <TEXT>] [--bonus] [--key <ID>] [--engine <URL>] [--env-file <PATH>] [--json]',
  description: `
Calls POST /admin/credits/grant on the Business Engine with ADMIN_TOKEN (from the environment, else the local
.env; never printed) and prints the user's new balance. Every user gets SIGNUP_BONUS_CREDITS (default 3) bonus
credits once, when first seen; each transcription costs 1. A grant is a ledger entry with its reason.
Every grant carries an idempotency key (--key, else a new one per run): a grant answered 502/503/504 or not at
all is sent again with the same key, up to 3 times (after Retry-After), and is credited once. Give --key (an order
or ticket id) to make running the same command again safe too: it prints the first grant instead of granting.
A run that fails after a send may have granted: it prints its key, to run again with --key. Needs an engine whose
API is 2.1.0 or newer (an older one refuses clientRequestId with 400).`,
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
    key: {
      type: 'string',
      value: 'ID',
      description: 'Idempotency key (1-128 of A-Z a-z 0-9 . _ : -), e.g. the order id; default: a new one per run.',
    },
    engine: ENGINE_OPTION,
    'env-file': ENV_FILE_OPTION,
    json: { type: 'boolean', description: 'Print the engine answer (or the error) as JSON.' },
  },
  examples: [
    'pluct credits grant --user me --amount 10',
    'pluct credits grant --user alice --amount 5 --reason "beta tester" --json',
    'pluct credits grant --user bob --amount 20 --reason "order 1001" --key order-1001',
  ],
  async run(values, _positionals, io) {
    const userId = requireString(values, 'user');
    const amountText = requireString(values, 'amount');
    const amount = Number(amountText);
    if (!/^\d+$/.test(amountText) || amount < 1 || amount > 100_000)
      throw new UsageError(`--amount '${amountText}' must be a whole number from 1 to 100000.`);
    const reason = optionalString(values, 'reason') ?? 'granted with pluct credits grant';
    const clientRequestId = optionalString(values, 'key') ?? `pluct-${randomUUID()}`;
    if (!/^[A-Za-z0-9._:-]{1,128}$/.test(clientRequestId))
      throw new UsageError(`--key '${clientRequestId}' must be 1-128 of A-Z a-z 0-9 . _ : -.`);
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
    const client = createBusinessEngineClient({ baseUrl });
    const body = {
      userId,
      amount,
      reason,
      bucket: values['bonus'] ? ('bonus' as const) : ('main' as const),
      clientRequestId,
    };
    let requestId: string;
    let result;
    let attempt = 1;
    // A failure after a send that may have reached the engine: say how to retry it without granting twice.
    const fail = (error: PluctError, maybeGranted: boolean) => {
      const hint = `the grant may have been made; run the command again with --key ${clientRequestId} to retry it safely`;
      if (values['json'])
        io.out(
          `${JSON.stringify({ ok: false, error: errorJson(error), clientRequestId, ...(maybeGranted ? { maybeGranted } : {}) })}\n`,
        );
      else {
        printError(error, io);
        if (maybeGranted) io.err(`  ${hint}\n`);
      }
      return EXIT_FAILURE;
    };
    for (; ; attempt += 1) {
      requestId = newRequestId();
      let pause = RETRY_PAUSE_MS * attempt;
      try {
        result = await client.POST('/admin/credits/grant', {
          headers: { Authorization: `Bearer ${adminToken}`, [REQUEST_ID_HEADER]: requestId },
          body,
        });
        if (!RETRIED_STATUSES.has(result.response.status) || attempt >= GRANT_ATTEMPTS) break;
        const retryAfterSec = Number(result.response.headers.get('retry-after'));
        if (Number.isFinite(retryAfterSec) && retryAfterSec > 0)
          pause = Math.min(MAX_RETRY_AFTER_MS, Math.max(pause, retryAfterSec * 1000));
      } catch (thrown) {
        // No answer: the engine may have granted it. The next send with the same key finds out.
        if (attempt >= GRANT_ATTEMPTS) return fail(errorFromThrown(thrown, requestId, baseUrl, undefined), true);
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    if (!result.data) {
      // A 502/503/504 on the last try may follow an earlier send whose answer was lost.
      return fail(problemFromBody(result.error, result.response, requestId), attempt > 1);
    }
    const d = result.data;
    const replayed = result.response.headers.get('idempotent-replayed') === 'true';
    // A replay answering a retry of this run is this run's own grant, whose first answer was lost.
    const grantedBefore = replayed && attempt === 1;
    if (values['json']) io.out(`${JSON.stringify({ ...d, replayed: grantedBefore })}\n`);
    else if (grantedBefore)
      io.out(
        `Already granted with key ${clientRequestId} (nothing added): that grant left ${d.userId} at balance ${d.balance} (main ${d.main}, bonus ${d.bonus}); ledger entry ${d.entryId}.\n`,
      );
    else
      io.out(
        `Granted ${amount} credit${amount === 1 ? '' : 's'} to ${d.userId}: balance ${d.balance} (main ${d.main}, bonus ${d.bonus}); ledger entry ${d.entryId}${replayed ? ` (confirmed on a retry with key ${clientRequestId})` : ''}.\n`,
      );
    return EXIT_OK;
  },
};
