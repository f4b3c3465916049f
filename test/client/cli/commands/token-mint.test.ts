import { decodeJwt, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { runPluct, tempEnvFile } from '../../support/run-pluct.js';

const SECRET = 'test-only-user-jwt-secret-for-token-mint-000000';

describe('pluct token mint (process)', { timeout: 60_000 }, () => {
  it('mints an HS256 user JWT from the .env secret (raw UTF-8 bytes) with sub, scope, iat and exp', async () => {
    const env = tempEnvFile({ USER_JWT_SECRET: SECRET, USER_JWT_ISSUER: 'local-idp' });
    try {
      const [plain, json] = await Promise.all([
        runPluct(['token', 'mint', '--sub', 'alice', '--ttl', '2h'], { cwd: env.dir }),
        runPluct(['token', 'mint', '--sub', 'bob', '--json', '--env-file', env.path, '--scope', 'credits:read']),
      ]);
      expect(plain.code).toBe(0);
      const token = plain.stdout.trim();
      const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SECRET), {
        algorithms: ['HS256'],
      });
      expect(protectedHeader.alg).toBe('HS256');
      expect(payload).toMatchObject({ sub: 'alice', scope: 'ttt:transcribe credits:read', iss: 'local-idp' });
      expect((payload.exp as number) - (payload.iat as number)).toBe(7200);
      expect(plain.stderr).toBe('');

      expect(json.code).toBe(0);
      const out = JSON.parse(json.stdout) as { token: string; sub: string; scope: string; expiresAt: string };
      expect(decodeJwt(out.token)).toMatchObject({ sub: 'bob', scope: 'credits:read' });
      expect(Date.parse(out.expiresAt)).toBeGreaterThan(Date.now());
    } finally {
      env.remove();
    }
  });

  it('exits 1 saying what is missing when there is no USER_JWT_SECRET, and 2 without --sub', async () => {
    const [missing, noSub] = await Promise.all([
      runPluct(['token', 'mint', '--sub', 'alice']),
      runPluct(['token', 'mint']),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/USER_JWT_SECRET is not set in the environment or in .*\.env \(no such file\)/);
    expect(missing.stdout).toBe('');
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toContain('--sub is required');
  });
});
