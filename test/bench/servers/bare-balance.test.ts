import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../../../bench/harness/server-process.js';
import { createCleanupStack } from '../../helpers/cleanup-stack.js';
import { mintUserJwt } from '../../helpers/user-tokens.js';

// The balance floor is only a fair floor if it does check its caller: a bench that measured 401s would flatter it.
const SECRET = 'bench-floor-secret-of-at-least-32-bytes!';

describe('bench bare balance (the floor of GET /v1/credits/balance)', () => {
  let server: ServerProcess;
  const cleanup = createCleanupStack();
  const dir = mkdtempSync(join(tmpdir(), 'bare-balance-'));
  cleanup.defer(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    server = await startServer({
      name: 'bare-balance',
      entry: 'bench/servers/bare-balance.ts',
      ready: 'ipc',
      env: { BENCH_DB: join(dir, 'floor.db'), BENCH_USER_JWT_SECRET: SECRET },
    });
    cleanup.defer(() => server.stop());
  });
  afterAll(() => cleanup.run());

  const get = (token: string) =>
    fetch(`${server.url}/v1/credits/balance`, { headers: { authorization: `Bearer ${token}` } });

  it('answers a current user JWT signed with the secret with the balance shape, from the row made on first sight', async () => {
    const first = await get(await mintUserJwt({ sub: 'floor-user', secret: SECRET }));
    expect(first.status).toBe(200);
    const body = (await first.json()) as Record<string, unknown>;
    expect(body).toEqual({
      ok: true,
      userId: 'floor-user',
      balance: 3,
      main: 0,
      bonus: 3,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(await (await get(await mintUserJwt({ sub: 'floor-user', secret: SECRET }))).json()).toEqual(body);
  });

  it('refuses a JWT signed with another secret, an expired one and a missing bearer', async () => {
    expect(
      (await get(await mintUserJwt({ sub: 'floor-user', secret: 'another-secret-of-at-least-32-bytes!!!' }))).status,
    ).toBe(401);
    expect((await get(await mintUserJwt({ sub: 'floor-user', secret: SECRET, iat: 1_000, exp: 2_000 }))).status).toBe(
      401,
    );
    expect((await fetch(`${server.url}/v1/credits/balance`)).status).toBe(401);
  });
});
