import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../../scripts/cluster/cluster.js';
import { generateChainSecrets } from '../../server/sandbox/chain-secrets.js';
import { parseSharedSecret } from '../../server/protocol/engine-auth-secret.js';
import { runPluct, tempEnvFile } from '../client/support/run-pluct.js';

// HAProxy in front of engine and TTTranscribe replicas, each on its own SQLite file: instance ids and the
// doctor's replica sampling need no shared state, so this runs on today's storage.
const root = fileURLToPath(new URL('../../', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function cluster(engines: number, odd?: { engine: number; env: Record<string, string> }) {
  const secrets = await generateChainSecrets();
  const dir = mkdtempSync(join(tmpdir(), 'pluct-ids-'));
  const started: Cluster = await startCluster({
    root,
    engines,
    ttts: 2,
    workers: 0,
    database: { kind: 'sqlite-per-replica', dir },
    env: { ...secrets, TTT_TRANSCRIBER: 'none', LOG_LEVEL: 'warn' },
    envFor: (r) => (odd && r.role === 'engine' && r.index === odd.engine ? odd.env : undefined),
  });
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => started.stop(),
  );
  const envFile = tempEnvFile({
    TTT_SHARED_SECRET: secrets.TTT_SHARED_SECRET,
    USER_JWT_SECRET: secrets.USER_JWT_SECRET,
  });
  cleanups.push(() => envFile.remove());
  const doctor = (...extra: string[]) =>
    runPluct(['doctor', '--engine', started.engineUrl, '--ttt', started.tttUrl, '--env-file', envFile.path, ...extra]);
  return { cluster: started, secrets, doctor };
}

const row = (out: string, name: string) => out.split('\n').find((l) => new RegExp(`^  \\w+ +${name} `).test(l)) ?? '';

describe('instance ids and replica sampling behind HAProxy', { timeout: 90_000 }, () => {
  it('each replica names itself in /health and X-Instance-Id, errors included; doctor sees them all agree', async () => {
    const { cluster: c, doctor } = await cluster(2);
    const seen = new Map<string, string>();
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const response = await fetch(`${c.engineUrl}/health`);
      const body = (await response.json()) as { instanceId: string; keyIds: { userJwt: string } };
      expect(response.headers.get('x-instance-id')).toBe(body.instanceId);
      seen.set(body.instanceId, body.keyIds.userJwt);
    }
    expect([...seen.keys()].sort()).toEqual(['engine-1', 'engine-2']);
    expect(new Set(seen.values()).size).toBe(1);
    // A problem answer names its replica too (here: a missing credential).
    const refused = await fetch(`${c.engineUrl}/v1/credits/balance`);
    expect(refused.status).toBe(401);
    expect(['engine-1', 'engine-2']).toContain(refused.headers.get('x-instance-id'));
    const tttIds = new Set<string>();
    for (let i = 0; i < 20 && tttIds.size < 2; i++) {
      const response = await fetch(`${c.tttUrl}/health`);
      const body = (await response.json()) as { instanceId: string };
      tttIds.add(body.instanceId);
    }
    expect([...tttIds].sort()).toEqual(['ttt-1', 'ttt-2']);

    const run = await doctor('--json');
    const report = JSON.parse(run.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    const replicas = report.checks.find((check) => check.name === 'replica_key_ids');
    expect(replicas?.status).toBe('pass');
    expect(replicas?.detail).toContain(
      '2 engine replicas (engine-1, engine-2) and 2 TTTranscribe replicas (ttt-1, ttt-2)',
    );
  });

  it('doctor through the load balancer fails and names the one replica started on other secrets', async () => {
    const other = await generateChainSecrets();
    const {
      cluster: c,
      secrets,
      doctor,
    } = await cluster(3, {
      engine: 3,
      env: { USER_JWT_SECRET: other.USER_JWT_SECRET, TTT_SHARED_SECRET: other.TTT_SHARED_SECRET },
    });
    const run = await doctor();
    expect(run.code).toBe(1);
    const line = row(run.stdout, 'replica_key_ids');
    expect(line).toMatch(/^ {2}FAIL /);
    expect(line).toContain('3 engine replicas');
    expect(line).toMatch(/engine replica engine-3 has USER_JWT_SECRET key id [0-9a-f]{16}, the others [0-9a-f]{16}/);
    const oddKeyId = parseSharedSecret('TTT_SHARED_SECRET', other.TTT_SHARED_SECRET).keyId;
    expect(line).toContain(`engine replica engine-3 has TTT_SHARED_SECRET key id ${oddKeyId}`);
    expect(line).toContain(
      `engine replica engine-3 signs with key id ${oddKeyId}, which no TTTranscribe replica accepts`,
    );
    expect(line).not.toMatch(/engine-1 has|engine-2 has/);
    expect(run.stdout).toContain('fix: Give engine-3 the same USER_JWT_SECRET as the other engine replicas');
    for (const secret of [secrets.TTT_SHARED_SECRET, other.TTT_SHARED_SECRET, other.USER_JWT_SECRET])
      expect(run.stdout).not.toContain(secret);
    expect(c.engines.map((e) => e.service.hasExited())).toEqual([false, false, false]);
  });
});
