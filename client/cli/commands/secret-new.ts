import {
  engineAuthKeyId,
  generateSharedSecret,
  parseSharedSecret,
} from '../../../server/protocol/engine-auth-secret.js';
import { EXIT_OK, type Command } from '../command.js';

/**
 * `pluct secret new`: a fresh X-Engine-Auth shared secret and its key id, as a line ready for a .env file.
 *
 * @example
 * // pluct secret new >> .env      (then set the same value on the other service)
 */
export const secretNewCommand: Command = {
  name: 'secret new',
  summary: 'Generate a TTT_SHARED_SECRET (tttsk_…) and print its key id.',
  usage: 'secret new [--next] [--json]',
  description: `
Generates 32 random bytes and prints them as a TTT_SHARED_SECRET line (tttsk_ + base64url, the only form the
services accept), followed by a comment with its key id. The key id identifies the secret without revealing
it: compare key ids, never secrets (pluct doctor does). Set the same value on the Business Engine and on
TTTranscribe. The secret goes to stdout only; keep it out of logs and chat.`,
  options: {
    next: { type: 'boolean', description: 'Name it TTT_SHARED_SECRET_NEXT (the new key during a rotation).' },
    json: { type: 'boolean', description: 'Print {"name","secret","keyId"} as JSON.' },
  },
  examples: ['pluct secret new', 'pluct secret new --next >> .env'],
  async run(values, _positionals, io) {
    const secret = generateSharedSecret();
    const name = values['next'] ? 'TTT_SHARED_SECRET_NEXT' : 'TTT_SHARED_SECRET';
    const keyId = engineAuthKeyId(parseSharedSecret(name, secret).key);
    if (values['json']) {
      io.out(`${JSON.stringify({ name, secret, keyId })}\n`);
    } else {
      io.out(
        `${name}=${secret}\n# key id ${keyId}: set the same value on the Business Engine and TTTranscribe; check with 'pluct doctor'.\n`,
      );
    }
    return EXIT_OK;
  },
};
