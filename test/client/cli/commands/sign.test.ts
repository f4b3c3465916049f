import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runPluct, tempEnvFile } from '../../support/run-pluct.js';
import {
  ENGINE_AUTH_VECTORS_URL,
  type EngineAuthVector,
  type EngineAuthVectorsFile,
} from '../../../../server/protocol/test-vectors.js';

const { vectors } = JSON.parse(readFileSync(ENGINE_AUTH_VECTORS_URL, 'utf8')) as EngineAuthVectorsFile;
const pick = (name: string) => vectors.find((v) => v.name === name) as EngineAuthVector;

function argsFor(v: EngineAuthVector, url = v.target): string[] {
  return [
    'sign',
    '--method',
    v.method,
    '--url',
    url,
    '--body',
    v.body,
    '--timestamp',
    String(v.timestamp),
    '--nonce',
    v.nonce,
    ...(v.bearerToken === null ? [] : ['--token', v.bearerToken]),
  ];
}

describe('pluct sign (process)', { timeout: 60_000 }, () => {
  it('reproduces the spec test vectors (header and stringToSign), including key rotation', async () => {
    const chosen = [
      'post-transcribe-json-with-token',
      'percent-encoded-target',
      'rotation-current-and-next',
      'get-no-body-no-token',
    ].map(pick);
    const runs = await Promise.all(
      chosen.map((v) =>
        runPluct([...argsFor(v), '--json'], {
          env: {
            TTT_SHARED_SECRET: v.secrets[0] as string,
            ...(v.secrets[1] ? { TTT_SHARED_SECRET_NEXT: v.secrets[1] } : {}),
          },
        }),
      ),
    );
    runs.forEach((run, i) => {
      const v = chosen[i] as EngineAuthVector;
      expect(run.code, v.name).toBe(0);
      const out = JSON.parse(run.stdout) as { header: string; stringToSign: string; keyIds: string[]; target: string };
      expect(out.header, v.name).toBe(v.header);
      expect(out.stringToSign, v.name).toBe(v.stringToSign);
      expect(out.keyIds).toEqual(v.keyIds);
      expect(out.target).toBe(v.target);
    });
  });

  it('prints the header and the string to sign for people, reading the secret from --env-file, never printing it', async () => {
    const v = pick('post-with-query-string');
    const env = tempEnvFile({ TTT_SHARED_SECRET: v.secrets[0] as string });
    try {
      const run = await runPluct([...argsFor(v, `http://127.0.0.1:8788${v.target}`), '--env-file', env.path]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`X-Engine-Auth: ${v.header}`);
      expect(run.stdout).toContain(v.stringToSign);
      expect(run.stdout).toContain(`request target: ${v.target}`);
      expect(run.stdout).not.toContain(v.secrets[0]);
    } finally {
      env.remove();
    }
  });

  it('refuses a base64-encoded secret with the rule broken and the fix, never echoing the value', async () => {
    const standardBase64 = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('base64');
    const run = await runPluct(['sign', '--method', 'GET', '--url', '/health'], {
      env: { TTT_SHARED_SECRET: standardBase64 },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/TTT_SHARED_SECRET must be 'tttsk_'/);
    expect(run.stderr).toContain('looks like standard base64');
    expect(run.stderr).not.toContain(standardBase64);
  });
});
