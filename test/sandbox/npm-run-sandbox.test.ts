/**
 * The sandbox as an app developer meets it: `npm run sandbox` as a process, then the five steps of the docs page
 * with the curl binary (every answer checked against the spec), the state and reset routes, and a browser page on
 * another origin running the flow with fetch (CORS), in headless Chromium.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIVE_STEPS } from '../../server/sandbox/banner.js';
import type { OpenApiDocument } from '../../server/shared/http/operation-matcher.js';
import { createResponseChecker } from '../contract/support/response-checker.js';
import { serveStatic, type StaticServer } from '../docs/static-server.js';
import { createCleanupStack } from '../helpers/cleanup-stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const run = promisify(execFile);
const check = createResponseChecker(
  JSON.parse(
    readFileSync(new URL('../../generated/business-engine/openapi.json', import.meta.url), 'utf8'),
  ) as OpenApiDocument,
);

let child: ChildProcess;
let output = '';
let exited: Promise<number | null>;
let sandbox: string;
let token: string;
let app: StaticServer;
let otherOrigin: StaticServer;
const cleanup = createCleanupStack();

beforeAll(async () => {
  app = await serveStatic(fileURLToPath(new URL('./fixtures/', import.meta.url)));
  cleanup.defer(() => app.close());
  otherOrigin = await serveStatic(fileURLToPath(new URL('./fixtures/', import.meta.url)));
  cleanup.defer(() => otherOrigin.close());
  const allowed = new URL(app.url).origin;
  // Its own process group, so stopping it reaches tsx under npm; nothing else is in that group.
  child = spawn('npm', ['run', 'sandbox', '--', '--port', '0', '--job-ms', '200', '--cors-origins', allowed], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', npm_config_update_notifier: 'false' },
  });
  exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  cleanup.defer(async () => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    await exited;
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm run sandbox printed no banner in 60 s:\n${output}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /^ {2}export SANDBOX=(\S+)$/m.exec(output);
      const jwt = /^ {2}export TOKEN=(\S+)$/m.exec(output);
      if (url && jwt) {
        [sandbox, token] = [url[1] as string, jwt[1] as string];
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`npm run sandbox exited with ${code}:\n${output}`)));
  });
}, 90_000);

afterAll(() => cleanup.run());

/** Runs a documented curl line through sh with the variables the docs export; `-i` adds the status and headers. */
async function curl(
  command: string,
  vars: Record<string, string>,
): Promise<{ status: number; headers: Headers; text: string; json: Record<string, unknown> }> {
  const { stdout } = await run('sh', ['-c', `${command} -i`], { env: { PATH: process.env['PATH'] ?? '', ...vars } });
  const [head = '', ...rest] = stdout.split('\r\n\r\n');
  const text = rest.join('\r\n\r\n');
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = new Headers(
    headerLines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, text, json: JSON.parse(text) as Record<string, unknown> };
}

describe('npm run sandbox, followed with curl as the docs page says', () => {
  it('prints a banner with the URL, a ready user JWT and the five curl lines', () => {
    for (const step of FIVE_STEPS) expect(output).toContain(step.command);
    expect(token.split('.')).toHaveLength(3);
    expect(output).not.toMatch(/tttsk_|pla_/);
  });

  it('runs the five steps with curl; every answer matches the spec', async () => {
    const vars: Record<string, string> = { SANDBOX: sandbox, TOKEN: token };
    const answers: Array<Record<string, unknown>> = [];
    for (const step of FIVE_STEPS) {
      let answer = await curl(step.command, vars);
      for (
        let i = 0;
        step.repeatUntil && !step.repeatUntil.includes(String(answer.json['status'])) && i < 100;
        i += 1
      ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        answer = await curl(step.command, vars);
      }
      const path = (/"\$SANDBOX([^"]+)"/.exec(step.command)?.[1] ?? '').replace(
        /\$(\w+)/g,
        (_, v: string) => vars[v] ?? '',
      );
      expect(
        check({
          method: step.command.includes('-X POST') ? 'POST' : 'GET',
          path,
          status: answer.status,
          headers: answer.headers,
          body: answer.text,
        }),
        step.title,
      ).toEqual([]);
      expect(answer.status, `${step.title}: ${answer.text}`).toBeLessThan(300);
      if (step.sets) vars[step.sets.variable] = String(answer.json[step.sets.field]);
      answers.push(answer.json);
    }
    const [balance, vend, submitted, status, ledger] = answers;
    expect(balance).toMatchObject({ ok: true, userId: 'sandbox-user', balance: 3 });
    expect(vend).toMatchObject({ ok: true, balanceAfter: 2 });
    expect(submitted).toMatchObject({ ok: true, status: 'queued' });
    expect(status).toMatchObject({ status: 'completed', transcript: 'hello from the sandbox', creditRefunded: false });
    const entries = (ledger?.['entries'] as Array<{ kind: string; reason: string }>).map(
      (e) => `${e.kind}:${e.reason}`,
    );
    expect(entries).toEqual(['charge:vend_token', 'grant:signup_bonus']);
  });

  it('shows the state and resets it', async () => {
    const state = JSON.parse((await run('curl', ['-s', `${sandbox}/sandbox/state`])).stdout) as {
      users: Array<{ userId: string; balance: number }>;
      jobs: Array<{ status: string }>;
    };
    expect(state.users).toContainEqual(expect.objectContaining({ userId: 'sandbox-user', balance: 2 }));
    expect(state.jobs.length).toBeGreaterThan(0);
    expect(JSON.parse((await run('curl', ['-s', '-X', 'POST', `${sandbox}/sandbox/reset`])).stdout)).toMatchObject({
      ok: true,
    });
    const after = JSON.parse((await run('curl', ['-s', `${sandbox}/sandbox/state`])).stdout) as {
      users: unknown[];
      jobs: unknown[];
    };
    expect(after).toMatchObject({ users: [], jobs: [] });
    // The banner's token still works after a reset, and the user starts again with the starting credits.
    const balance = await curl(FIVE_STEPS[0]!.command, { SANDBOX: sandbox, TOKEN: token });
    expect(balance.json).toMatchObject({ balance: 3 });
  });
});

describe('a browser app on another origin (CORS), in headless Chromium', () => {
  let browser: Browser;
  const browserCleanup = createCleanupStack();
  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH.`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    browserCleanup.defer(() => browser.close());
  }, 60_000);
  afterAll(() => browserCleanup.run());

  it('runs the five steps with fetch from an allowed origin, reading exposed headers', async () => {
    const page = await browser.newPage();
    await page.goto(`${app.url}browser-app.html`);
    const steps = await page.evaluate(
      ([url, jwt]) =>
        (
          globalThis as unknown as {
            runFlow: (
              s: string,
              t: string,
            ) => Promise<
              Record<
                string,
                { status: number; requestId: string | null; retryAfter: string | null; json: Record<string, unknown> }
              >
            >;
          }
        ).runFlow(url, jwt),
      [sandbox, await mintFor('browser-user')] as const,
    );
    expect(steps['balance']).toMatchObject({ status: 200, json: { balance: 3 } });
    expect(steps['balance']?.requestId).toMatch(/^req_/);
    expect(steps['vend']).toMatchObject({ status: 200, json: { balanceAfter: 2 } });
    expect(steps['submit']).toMatchObject({ status: 202 });
    expect(steps['status']).toMatchObject({
      status: 200,
      json: { status: 'completed', transcript: 'hello from a browser' },
    });
    expect(steps['ledger']?.status).toBe(200);
    expect(steps['limited']).toMatchObject({ status: 429, retryAfter: '3', json: { code: 'rate_limited' } });
    await page.close();
  });

  it('refuses an origin that is not configured: the browser blocks the answer', async () => {
    const page = await browser.newPage();
    await page.goto(`${otherOrigin.url}browser-app.html`);
    const outcome = await page.evaluate(
      (url) =>
        fetch(`${url}/health`).then(
          (r) => `status ${r.status}`,
          (e: unknown) => `blocked: ${(e as Error).name}`,
        ),
      sandbox,
    );
    expect(outcome).toBe('blocked: TypeError');
    await page.close();
  });
});

async function mintFor(sub: string): Promise<string> {
  const response = await fetch(`${sandbox}/sandbox/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sub }),
  });
  return ((await response.json()) as { token: string }).token;
}
