import { describe, expect, it } from 'vitest';
import { parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { runPluct } from '../../support/run-pluct.js';

describe('pluct secret new (process)', { timeout: 60_000 }, () => {
  it('prints a .env line with a valid tttsk_ secret and its key id, fresh each time', async () => {
    const [a, b, json] = await Promise.all([
      runPluct(['secret', 'new']),
      runPluct(['secret', 'new']),
      runPluct(['secret', 'new', '--next', '--json']),
    ]);
    expect(a.code).toBe(0);
    const m = /^TTT_SHARED_SECRET=(tttsk_[A-Za-z0-9_-]{43})\n# key id ([0-9a-f]{16}):/.exec(a.stdout);
    expect(m).not.toBeNull();
    expect(parseSharedSecret('TTT_SHARED_SECRET', m![1]).keyId).toBe(m![2]);
    expect(b.stdout).not.toBe(a.stdout);

    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { name: string; secret: string; keyId: string };
    expect(parsed.name).toBe('TTT_SHARED_SECRET_NEXT');
    expect(parseSharedSecret(parsed.name, parsed.secret).keyId).toBe(parsed.keyId);
  });
});
