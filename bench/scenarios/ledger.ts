import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../harness/bench-context.js';
import { startEngineProcess } from '../harness/bench-stack.js';
import { runClosedLoad, warmRepeated } from '../harness/closed-load.js';
import { EngineUsers } from '../harness/engine-users.js';
import { fillLedger } from '../harness/ledger-fill.js';
import { freePort } from '../harness/server-process.js';
import { measureSupplied } from '../harness/supplied-measure.js';
import type { StackSession } from './stack-session.js';

/**
 * How balance and vend latency grow with the ledger: one engine database grown step by step (1k, 10k, 100k, 1M
 * rows by default) with the engine's own ledger module while no engine runs; at each step a fresh engine process
 * on a copy of it measures GET /v1/credits/balance and POST /v1/vend-token at the fixed concurrency.
 *
 * @example
 * await runLedger(ctx, stack);
 */
export async function runLedger(ctx: BenchContext, stack: StackSession): Promise<void> {
  if (!stack.hasEngine) {
    ctx.note('ledger: the Business Engine does not exist yet; skipped.');
    return;
  }
  const { connections, ledgerRows, warmupSec } = ctx.settings;
  // The template only grows by filling; each step runs on a copy, so the rows its vends add do not leak into the next.
  const template = join(stack.ws.dir, 'ledger-template.db');
  // Vend and balance never call TTTranscribe; point the engine at a port nobody listens on.
  const tttUrl = `http://127.0.0.1:${await freePort()}`;

  for (const target of ledgerRows) {
    const fillStarted = performance.now();
    const rows = fillLedger(template, target);
    const dbPath = join(stack.ws.dir, `business-engine-ledger-${target}.db`);
    copyFileSync(template, dbPath);
    ctx.log(`  ledger filled to ${rows} rows in ${Math.round(performance.now() - fillStarted)} ms`);
    const engine = await startEngineProcess(stack.creds, {
      name: 'engine-ledger',
      dbPath,
      logLevel: ctx.settings.logLevel,
      tttUrl,
    });
    try {
      const users = await EngineUsers.create(stack.creds, engine.url);
      const balance = users.balanceRequest();
      await ctx.measure({
        id: `ledger.credit-balance.${target}`,
        title: `balance, ${label(target)} rows`,
        group: 'ledger',
        request: 'GET /v1/credits/balance',
        connections,
        servers: [engine],
        params: { ledgerRows: rows },
        warmup: () => warmRepeated(engine.url, balance, [200], connections, warmupSec),
        load: (sec) =>
          runClosedLoad({ origin: engine.url, connections, durationSec: sec, request: balance, expectStatus: [200] }),
      });
      await measureSupplied(ctx, {
        id: `ledger.vend-token.${target}`,
        title: `vend-token, ${label(target)} rows`,
        group: 'ledger',
        request: 'POST /v1/vend-token',
        connections,
        servers: [engine],
        params: { ledgerRows: rows },
        origin: engine.url,
        expectStatus: [200],
        guessRps: 1000,
        build: (n) => users.vendSupply(n),
      });
    } finally {
      await engine.stop();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
    }
  }
}

function label(rows: number): string {
  return rows >= 1_000_000 ? `${rows / 1_000_000}M` : rows >= 1000 ? `${rows / 1000}k` : String(rows);
}
