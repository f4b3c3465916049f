/**
 * Incident 02 (docs/incidents.md, "02."): a service verified user JWTs with
 * a hard-coded secret that differed from the issuer's; every request failed with a generic 500
 * "Authentication service error" that did not say what was wrong, and nobody could tell the two secrets apart.
 *
 * Replayed here: an issuer and the engine holding different USER_JWT_SECRETs (also the base64 variant), what
 * the app, the logs and `pluct doctor` say, and that no service can fall back to a built-in secret.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineTestApp, type EngineTestApp } from '../helpers/engine-app.js';
import { startRealStack, STACK_USER_JWT_SECRET } from '../client/support/real-stack.js';
import { runPluct, tempEnvFile } from '../client/support/run-pluct.js';
import { engineProcessEnv, runServiceMain, tttProcessEnv } from '../contract/support/service-process.js';

/** TEST-ONLY: a USER_JWT_SECRET that looks like base64 (44 characters), used by the engine as its raw text. */
const BASE64_LOOKING_SECRET = randomBytes(32).toString('base64');
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('incident 02: the token issuer and the verifier hold different JWT secrets', () => {
  let be: EngineTestApp;
  beforeAll(async () => {
    be = await startEngineTestApp({ env: { USER_JWT_SECRET: BASE64_LOOKING_SECRET } });
    cleanups.push(() => be.close());
  });

  const balance = (token: string) =>
    be.client.GET('/v1/credits/balance', { headers: { ...be.bearer(token), 'User-Agent': 'UploadPipeline/1.0' } });
  const mint = (key: Uint8Array) => {
    const iat = Math.floor(be.clock.ms / 1000);
    return new SignJWT({ sub: 'upload-user-1', scope: 'credits:read', iat, exp: iat + 900 })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(key);
  };

  it('a token from an issuer with another secret is a 401 invalid_token (signature_invalid) naming mismatched secrets, never a 500', async () => {
    const hardCoded = await mint(new TextEncoder().encode('TEST-ONLY-improved-minimal-dev-secret-key'));
    const { error, response } = await balance(hardCoded);
    expect(response.status).toBe(401);
    expect(error).toMatchObject({
      code: 'invalid_token',
      detail: "The token's signature does not verify with the configured key.",
      guidance: expect.stringContaining('the two sides are configured with different signing secrets'),
      details: { credential: 'user_jwt', reason: 'signature_invalid' },
    });
    // The same claims signed with the engine's secret (its raw text) pass: the secret is the only difference.
    expect((await balance(await mint(new TextEncoder().encode(BASE64_LOOKING_SECRET)))).response.status).toBe(200);
  });

  it('an issuer that base64-decodes the secret the engine uses as raw text gets the same precise 401', async () => {
    const { error, response } = await balance(await mint(Buffer.from(BASE64_LOOKING_SECRET, 'base64')));
    expect(response.status).toBe(401);
    expect(error).toMatchObject({ code: 'invalid_token', details: { reason: 'signature_invalid' } });
  });

  it("the engine's log names the code, reason, route and caller, never the token", async () => {
    const token = await mint(new TextEncoder().encode('TEST-ONLY-a-third-issuers-user-jwt-secret'));
    const { error } = await balance(token);
    const line = be.logs.find((l) => l['requestId'] === error?.requestId && l['code'] === 'invalid_token');
    expect(line).toMatchObject({
      level: 40,
      status: 401,
      route: 'getCreditBalance',
      userAgent: 'UploadPipeline/1.0',
      details: { reason: 'signature_invalid' },
    });
    expect(JSON.stringify(be.logs)).not.toContain(token);
  });

  it('pluct doctor pinpoints the user JWT secret mismatch (and only it) and exits 1', async () => {
    const stack = await startRealStack();
    const env = tempEnvFile({
      TTT_SHARED_SECRET: stack.engineSecret,
      USER_JWT_SECRET: 'TEST-ONLY-the-issuers-other-user-jwt-secret',
    });
    cleanups.push(
      () => stack.close(),
      () => env.remove(),
    );
    const run = await runPluct(['doctor', '--engine', stack.engineUrl, '--ttt', stack.tttUrl, '--env-file', env.path]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const row = (name: string) => run.stdout.split('\n').find((l) => new RegExp(`^ {2}\\w+ +${name} `).test(l)) ?? '';
    expect(row('user_jwt_secret')).toMatch(
      /^ {2}FAIL .*invalid_token, signature_invalid.*the engine's USER_JWT_SECRET differs from the token issuer's/,
    );
    expect(run.stdout).toContain('raw text on both sides (never base64-decoded on one side only)');
    for (const name of ['key_ids', 'signed_probe', 'engine_integration']) expect(row(name), name).toMatch(/^ {2}PASS /);
    expect(run.stdout).not.toContain('TEST-ONLY-the-issuers-other-user-jwt-secret');
    expect(run.stdout).not.toContain(STACK_USER_JWT_SECRET);
  });
});

describe('incident 02: no service can fall back to a built-in secret', () => {
  it('both services refuse to start without their secrets, naming each variable and rule', async () => {
    const noSecrets = { TTT_SHARED_SECRET: '', USER_JWT_SECRET: '', ADMIN_TOKEN: '', SERVICE_TOKEN_PRIVATE_KEY: '' };
    const [engine, ttt] = await Promise.all([
      runServiceMain('business-engine', await engineProcessEnv(noSecrets)),
      runServiceMain('tttranscribe', tttProcessEnv({ TTT_SHARED_SECRET: '' })),
    ]);
    expect(engine.code, engine.stderr).toBe(1);
    expect(engine.stderr).toContain("TTT_SHARED_SECRET: must be 'tttsk_' followed by 43 base64url characters");
    expect(engine.stderr).toContain(
      'USER_JWT_SECRET: is required (at least 32 bytes), unless USER_JWT_JWKS_URL is set',
    );
    expect(engine.stderr).toContain('ADMIN_TOKEN: is required (at least 32 characters)');
    expect(engine.stderr).toContain('SERVICE_TOKEN_PRIVATE_KEY: is required');
    expect(ttt.code, ttt.stderr).toBe(1);
    expect(ttt.stderr).toMatch(
      /TTTranscribe cannot start[\s\S]*TTT_SHARED_SECRET: must be 'tttsk_'[^\n]*got nothing \(unset or empty\)/,
    );
  });

  it('no literal in the server source looks like a default secret (static check)', () => {
    const offences = sourceFiles('server').flatMap((file) =>
      secretDefaults(readFileSync(file, 'utf8')).map((hit) => `${file}: ${hit}`),
    );
    expect(offences).toEqual([]);
  });

  it('the static check itself catches the shapes of a built-in secret', () => {
    const planted = [
      "const secret = process.env.JWT_SECRET ?? 'improved-minimal-dev-secret-key';",
      "  USER_JWT_SECRET: z.string().default('changeme-changeme-changeme-changeme'),",
      "const key = env['TTT_SHARED_SECRET'] || DEFAULT_SECRET;",
      "const fallback = 'tttsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8';",
      "const engineSecret = 'dGVzdGluZy1kZWZhdWx0LXNlY3JldC1mb3ItanNvbg==';",
    ];
    for (const line of planted) expect(secretDefaults(line), line).not.toEqual([]);
    const harmless = [
      "// e.g. explainSecretMixup('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=')",
      "const url = 'http://127.0.0.1:8787/.well-known/jwks.json';",
      "const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';",
      "import { x } from '../../shared/auth/engine-auth-secret.js';",
    ];
    expect(secretDefaults(harmless.join('\n'))).toEqual([]);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Secret-looking defaults in TypeScript source (comments stripped): what incident 02's hard-coded key was. */
function secretDefaults(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const name = String.raw`\w*(?:SECRET|TOKEN|PRIVATE_KEY|PASSWORD)\w*`;
  const rules: Array<[string, RegExp]> = [
    [
      'a secret variable with a fallback',
      new RegExp(String.raw`${name}['"\]]*\s*(?:\?\?|\|\|)\s*(?:['"\`]|\w*(?:SECRET|KEY|PASSWORD))`, 'g'),
    ],
    ['a secret variable with a schema default', new RegExp(String.raw`${name}\s*:\s*z\.[^\n]*\.default\(`, 'g')],
    ['a tttsk_ secret literal', /tttsk_[A-Za-z0-9_-]{43}/g],
    [
      'a high-entropy string literal',
      /['"`](?=[A-Za-z0-9+/_=-]*\d)(?=[A-Za-z0-9+/_=-]*[A-Za-z])[A-Za-z0-9+/_-][A-Za-z0-9+/_=-]{31,}['"`]/g,
    ],
  ];
  return rules.flatMap(([rule, pattern]) =>
    [...code.matchAll(pattern)]
      .filter((m) => !isAlphabet(m[0].slice(1, -1)))
      .map((m) => `${rule}: ${m[0].slice(0, 60)}`),
  );
}

/** An encoding alphabet such as Crockford's base32 ('0123…XYZ'): every character greater than the one before. */
function isAlphabet(literal: string): boolean {
  return Array.from(literal).every((c, i) => i === 0 || c.charCodeAt(0) > literal.charCodeAt(i - 1));
}
