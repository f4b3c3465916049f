import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealStack, STACK_USER_JWT_SECRET, type RealStack } from '../../support/real-stack.js';
import { createCleanupStack } from '../../../helpers/cleanup-stack.js';
import { runPluct, tempEnvFile } from '../../support/run-pluct.js';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let stack: RealStack;
let env: ReturnType<typeof tempEnvFile>;
const cleanup = createCleanupStack();
beforeAll(async () => {
  stack = await startRealStack();
  cleanup.defer(() => stack.close());
  env = tempEnvFile({ USER_JWT_SECRET: STACK_USER_JWT_SECRET });
  cleanup.defer(() => env.remove());
});
afterAll(() => cleanup.run());

describe('pluct balance (process)', { timeout: 60_000 }, () => {
  it('prints the balance with a dev token minted from .env, or a given token, as text or JSON', async () => {
    const token = await stack.userJwt('carol');
    const [dev, given] = await Promise.all([
      runPluct(['balance', '--engine', stack.engineUrl, '--sub', 'dave'], { cwd: env.dir }),
      runPluct(['balance', '--json'], { env: { PLUCT_TOKEN: token, PLUCT_ENGINE_URL: stack.engineUrl } }),
    ]);
    expect(dev.code).toBe(0);
    expect(dev.stdout).toBe('dave: 3 credits (main 0, bonus 3)\n');
    expect(given.code).toBe(0);
    expect(JSON.parse(given.stdout)).toMatchObject({ ok: true, userId: 'carol', balance: 3 });
  });

  it('exits 1 with the catalog error, its guidance and request id', async () => {
    const expired = await stack.userJwt('erin', { expiresInSec: -600 });
    const [text, json] = await Promise.all([
      runPluct(['balance', '--engine', stack.engineUrl, '--token', expired]),
      runPluct(['balance', '--engine', stack.engineUrl, '--token', expired, '--json']),
    ]);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^error: token_expired \(401 Token expired\): /);
    expect(text.stderr).toMatch(/what to do: Refresh the token/);
    // The same fixed token would come back from a refresh, so the SDK does not retry: one request, one id.
    expect(text.stderr).toMatch(/request id: req_[0-9a-f]{32}\n/);
    expect(text.stderr).not.toContain(expired);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'token_expired', status: 401 } });
  });

  it('exits 1 with network_error when the engine is not there, and says how to get a token when none is available', async () => {
    const [down, noToken] = await Promise.all([
      runPluct(['balance', '--engine', `http://127.0.0.1:${await closedPort()}`, '--token', 'x.y.z']),
      runPluct(['balance', '--engine', stack.engineUrl]),
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /error: network_error: Could not reach http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/,
    );
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/No user token: pass --token, or set PLUCT_TOKEN/);
  });
});
