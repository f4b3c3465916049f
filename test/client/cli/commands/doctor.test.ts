import { afterAll, describe, expect, it } from 'vitest';
import { generateSharedSecret, parseSharedSecret } from '../../../../server/protocol/engine-auth-secret.js';
import { startRealStack, STACK_USER_JWT_SECRET, type RealStack } from '../../support/real-stack.js';
import { runPluct, tempEnvFile } from '../../support/run-pluct.js';
import { freeLoopbackPort } from '../../../../scripts/net/free-port.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function stackWith(options: Parameters<typeof startRealStack>[0] = {}): Promise<RealStack> {
  const stack = await startRealStack(options);
  cleanups.push(() => stack.close());
  return stack;
}
function envWith(values: Record<string, string>): string {
  const env = tempEnvFile(values);
  cleanups.push(() => env.remove());
  return env.path;
}
const doctor = (stack: RealStack, envFile: string, ...extra: string[]) =>
  runPluct(['doctor', '--engine', stack.engineUrl, '--ttt', stack.tttUrl, '--env-file', envFile, ...extra]);
const row = (out: string, name: string) => out.split('\n').find((l) => new RegExp(`^  \\w+ +${name} `).test(l)) ?? '';

describe('pluct doctor (process)', { timeout: 60_000 }, () => {
  it('passes every check on a healthy stack and exits 0, as a table and as JSON', async () => {
    const stack = await stackWith();
    const envFile = envWith({ TTT_SHARED_SECRET: stack.engineSecret, USER_JWT_SECRET: STACK_USER_JWT_SECRET });
    const [table, json] = await Promise.all([doctor(stack, envFile), doctor(stack, envFile, '--json')]);
    expect(table.code).toBe(0);
    for (const name of [
      'engine_reachable',
      'ttt_reachable',
      'local_secret',
      'key_ids',
      'clock_skew',
      'engine_integration',
      'signed_probe',
      'user_jwt_secret',
    ]) {
      expect(row(table.stdout, name), name).toMatch(/^ {2}PASS /);
    }
    expect(table.stdout).toContain(`key id ${stack.engineKeyId}`);
    expect(table.stdout).toMatch(/PASS key_id_accepted: /);
    expect(table.stdout).not.toContain(stack.engineSecret);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
    expect(report.ok).toBe(true);
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
  });

  it('pinpoints mismatched secrets (shared and user JWT): names both key ids and the side that differs, exits 1', async () => {
    const engineSecret = generateSharedSecret();
    const stack = await stackWith({ engineSecret, tttSecret: generateSharedSecret() });
    const run = await doctor(
      stack,
      envWith({ TTT_SHARED_SECRET: engineSecret, USER_JWT_SECRET: 'not-the-engine-user-jwt-secret-0123456789' }),
    );
    expect(run.code).toBe(1);
    expect(row(run.stdout, 'user_jwt_secret')).toMatch(/FAIL .*the engine's USER_JWT_SECRET differs/);
    const keyIds = row(run.stdout, 'key_ids');
    expect(keyIds).toMatch(/^ {2}FAIL /);
    expect(keyIds).toContain(
      `The engine signs with key id ${stack.engineKeyId}, but TTTranscribe accepts ${stack.tttKeyId}`,
    );
    expect(keyIds).toContain('TTTranscribe differs');
    expect(run.stdout).toContain("fix: Set TTTranscribe's TTT_SHARED_SECRET to the local value");
    expect(row(run.stdout, 'signed_probe')).toMatch(/FAIL .*refused the local key id/);
    expect(run.stdout).toMatch(/FAIL key_id_accepted: /);
    expect(run.stdout).not.toContain(engineSecret);
  });

  it('spots the base64/raw mix-up in the local .env and says only the encoding is wrong', async () => {
    const stack = await stackWith();
    const standardBase64 = Buffer.from(parseSharedSecret('TTT_SHARED_SECRET', stack.engineSecret).key).toString(
      'base64',
    );
    const run = await doctor(stack, envWith({ TTT_SHARED_SECRET: standardBase64 }));
    expect(run.code).toBe(1);
    const local = row(run.stdout, 'local_secret');
    expect(local).toContain('looks like standard base64 of the key; use the tttsk_ form');
    expect(local).toContain(
      `key id ${stack.engineKeyId} (TTTranscribe accepts it and the engine signs with it): only the encoding is wrong`,
    );
    expect(run.stdout).not.toContain(standardBase64);
    expect(row(run.stdout, 'key_ids')).toMatch(/^ {2}PASS /);
  });

  it('pinpoints a skewed clock between the services', async () => {
    const stack = await stackWith({ tttNow: () => Date.now() - 420_000 });
    const envFile = envWith({ TTT_SHARED_SECRET: stack.engineSecret });
    const run = await doctor(stack, envFile);
    expect(run.code).toBe(1);
    // Seconds granularity and request time make the measured skew 419-421 s.
    expect(row(run.stdout, 'clock_skew')).toMatch(
      /FAIL +clock_skew +Engine clock minus TTTranscribe clock: \+4[12]\d s \(X-Engine-Auth tolerance 300 s\)/,
    );
    expect(run.stdout).toContain('engine_auth_timestamp_skewed');
    expect(run.stdout).toMatch(/fix: Synchronise both hosts' clocks with NTP/);
    expect(row(run.stdout, 'signed_probe')).toMatch(/FAIL .*this machine's clock is \+4[12]\d s off its clock/);
  });

  it('reports services that are not running, with how to start them', async () => {
    const [enginePort, tttPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const run = await runPluct([
      'doctor',
      '--engine',
      `http://127.0.0.1:${enginePort}`,
      '--ttt',
      `http://127.0.0.1:${tttPort}`,
      '--timeout',
      '2',
    ]);
    expect(run.code).toBe(1);
    expect(row(run.stdout, 'engine_reachable')).toMatch(/FAIL .*connection refused/);
    expect(run.stdout).toContain('fix: Start it (locally: npm start');
  });
});
