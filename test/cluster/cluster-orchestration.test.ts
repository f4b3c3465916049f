import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster } from '../../scripts/cluster/cluster.js';
import { haproxyConfig } from '../../scripts/cluster/haproxy.js';
import { freeLoopbackPort } from '../../scripts/net/free-port.js';
import { generateChainSecrets } from '../../server/sandbox/chain-secrets.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pluct-orchestration-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the HAProxy configuration', () => {
  it('balances round-robin per request over loopback replicas that pass GET /health', () => {
    const text = haproxyConfig([
      {
        name: 'engine',
        port: 20001,
        backends: [
          { name: 'engine-1', port: 20002 },
          { name: 'engine-2', port: 20003 },
        ],
      },
    ]);
    expect(text).toContain('  balance roundrobin\n');
    expect(text).toContain('  option forwardfor\n'); // the replicas (TRUST_PROXY=loopback) key callers by it
    expect(text).toContain('frontend engine\n  bind 127.0.0.1:20001\n  default_backend engine_replicas\n');
    expect(text).toContain('  option httpchk GET /health\n  http-check expect status 200\n');
    expect(text).toContain('  server engine-1 127.0.0.1:20002 check\n  server engine-2 127.0.0.1:20003 check\n');
  });

  it('refuses names that could inject configuration, and a frontend without replicas', () => {
    expect(() =>
      haproxyConfig([{ name: 'engine\n  bind 0.0.0.0:80', port: 1, backends: [{ name: 'a', port: 2 }] }]),
    ).toThrow(/plain identifiers/);
    expect(() => haproxyConfig([{ name: 'engine', port: 1, backends: [] }])).toThrow(/no backends/);
  });
});

describe('startCluster', { timeout: 60_000 }, () => {
  it('fails naming the replica that exits at start and quoting its error, and leaves nothing running', async () => {
    const { ADMIN_TOKEN: _left, ...secrets } = await generateChainSecrets();
    const enginePort = await freeLoopbackPort();
    const error = await startCluster({
      root,
      engines: 1,
      ttts: 1,
      workers: 0,
      enginePort,
      database: { kind: 'sqlite-per-replica', dir },
      env: { ...secrets, TTT_TRANSCRIBER: 'none' },
      readyTimeoutMs: 30_000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^engine-1 exited at start\. Its last lines:/);
    expect((error as Error).message).toContain('ADMIN_TOKEN');
    // HAProxy was stopped with the replicas: its frontend no longer accepts connections.
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: enginePort });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    expect(accepted).toBe(false);
  });

  it('refuses impossible sizes before starting anything', async () => {
    await expect(
      startCluster({ root, engines: 0, ttts: 1, workers: 0, database: { kind: 'sqlite-per-replica', dir }, env: {} }),
    ).rejects.toThrow(/at least one engine/);
    await expect(
      startCluster({ root, engines: 1.5, ttts: 1, workers: 0, database: { kind: 'sqlite-per-replica', dir }, env: {} }),
    ).rejects.toThrow(/engines must be a whole number/);
  });
});
