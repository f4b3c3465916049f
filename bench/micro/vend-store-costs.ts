/**
 * `npx tsx bench/micro/vend-store-costs.ts`: CPU microseconds per vend in the SQLite engine store (file database,
 * WAL, as the engine runs it) next to the bare vend's transaction (bench/servers/bare-vend.ts), without HTTP, so
 * what the store adds over the floor shows apart from the request pipeline. Signing is a constant stub in both: the
 * signature costs the same on either side. Median of 5 interleaved runs of process.cpuUsage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteEngineStore } from '../../server/business-engine/store/sqlite-engine-store.js';

const OPS_PER_RUN = 3000;
const RUNS = 5;
const dir = mkdtempSync(join(tmpdir(), 'vend-costs-'));

const store = openSqliteEngineStore(join(dir, 'engine.db'), { signupBonus: 0, now: Date.now });
store.sync.ledger.grant('u1', 10_000_000, 'main', { reason: 'bench' });
let n = 0;
const sign = (): string => 'header.payload.signature';
const storeVend = async (): Promise<unknown> =>
  store.vend({ userId: 'u1', clientRequestId: `k${(n += 1)}`, bodyHash: 'h', requestId: 'req_1' }, sign);
// 50 vends in flight, as 50 connections keep them: one group commit holds all that arrive in one turn.
const IN_FLIGHT = 50;
const storeVends = async (): Promise<unknown> => Promise.all(Array.from({ length: IN_FLIGHT }, storeVend));

const bare = new Database(join(dir, 'bare.db'));
bare.pragma('journal_mode = WAL');
bare.pragma('synchronous = NORMAL');
bare.exec(`CREATE TABLE users (id TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));
  CREATE TABLE tokens (jti TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL)`);
const ensureUser = bare.prepare('INSERT OR IGNORE INTO users (id, balance) VALUES (?, 1000000000)');
const charge = bare.prepare('UPDATE users SET balance = balance - 1 WHERE id = ? AND balance > 0 RETURNING balance');
const record = bare.prepare('INSERT INTO tokens (jti, user_id, created_at) VALUES (?, ?, ?)');
const bareTx = bare.transaction((userId: string, jti: string, now: number) => {
  ensureUser.run(userId);
  const row = charge.get(userId) as { balance: number } | undefined;
  record.run(jti, userId, now);
  return row?.balance;
});
const bareVend = async (): Promise<unknown> => bareTx('u1', `tok_${(n += 1)}`, Date.now());

async function cpuMicrosPerOp(op: () => Promise<unknown>, perCall: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < OPS_PER_RUN / perCall; i++) await op();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / OPS_PER_RUN;
}

const cases: ReadonlyArray<[string, () => Promise<unknown>, number]> = [
  ['engine store vend, 1 in flight', storeVend, 1],
  [`engine store vend, ${IN_FLIGHT} in flight`, storeVends, IN_FLIGHT],
  ['bare vend transaction', bareVend, 1],
];
for (const [, op, perCall] of cases) for (let i = 0; i < 500 / perCall; i++) await op();
const runs = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let r = 0; r < RUNS; r++) {
  for (const [name, op, perCall] of cases) runs.get(name)?.push(await cpuMicrosPerOp(op, perCall));
}
for (const [name, values] of runs) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(`${name.padEnd(32)} ${(sorted[Math.floor(RUNS / 2)] ?? 0).toFixed(1)} µs CPU/op`);
}
await store.close();
bare.close();
rmSync(dir, { recursive: true, force: true });
