import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { ConfigError, list, parseEnv, port, readSharedSecrets } from '../../../../server/shared/config/env.js';

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseEnv', () => {
  const schema = z.object({ TTT_PORT: port(8788), HOSTS: list() });

  it('applies defaults and transforms', () => {
    expect(parseEnv(schema, {})).toEqual({ TTT_PORT: 8788, HOSTS: [] });
    expect(parseEnv(schema, { TTT_PORT: '9000', HOSTS: 'a.com, b.com' })).toEqual({
      TTT_PORT: 9000,
      HOSTS: ['a.com', 'b.com'],
    });
  });

  it('names the variable and the rule, not the value', () => {
    const error = configErrorOf(() => parseEnv(schema, { TTT_PORT: '70000' }));
    expect(error.problems).toEqual([{ variable: 'TTT_PORT', message: 'must be between 0 and 65535' }]);
    expect(error.message).not.toContain('70000');
  });
});

describe('readSharedSecrets', () => {
  it('reads the current and the optional next key', () => {
    const current = generateSharedSecret();
    const next = generateSharedSecret();
    expect(readSharedSecrets({ TTT_SHARED_SECRET: current }, { next: true })).toHaveLength(1);
    expect(
      readSharedSecrets({ TTT_SHARED_SECRET: current, TTT_SHARED_SECRET_NEXT: next }, { next: true }),
    ).toHaveLength(2);
    expect(readSharedSecrets({ TTT_SHARED_SECRET: current, TTT_SHARED_SECRET_NEXT: '' }, { next: true })).toHaveLength(
      1,
    );
  });

  it('refuses a missing secret, naming the variable', () => {
    const error = configErrorOf(() => readSharedSecrets({}, { next: true }));
    expect(error.problems[0]?.variable).toBe('TTT_SHARED_SECRET');
    expect(error.message).toMatch(/TTT_SHARED_SECRET/);
  });

  it('refuses a base64 value in place of the tttsk_ form without echoing it', () => {
    const raw = Buffer.alloc(32, 7).toString('base64');
    const error = configErrorOf(() => readSharedSecrets({ TTT_SHARED_SECRET: raw }, { next: false }));
    expect(error.problems[0]?.variable).toBe('TTT_SHARED_SECRET');
    expect(error.message).toMatch(/tttsk_/);
    expect(error.message).not.toContain(raw);
  });

  it('refuses a malformed next key', () => {
    const error = configErrorOf(() =>
      readSharedSecrets(
        { TTT_SHARED_SECRET: generateSharedSecret(), TTT_SHARED_SECRET_NEXT: 'tttsk_short' },
        { next: true },
      ),
    );
    expect(error.problems.map((p) => p.variable)).toEqual(['TTT_SHARED_SECRET_NEXT']);
  });
});
