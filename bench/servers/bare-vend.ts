import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import { openBenchDatabase } from './bench-database.js';
import { listenForBench } from './listen.js';

/*
 * The vend floor: the least any durable, signing POST /v1/vend-token can do, on the same stack as the real one.
 * Express 5 with its JSON body parser; one SQLite transaction (WAL, synchronous=NORMAL, as the engine) that takes a
 * credit and records the token; one ES256 signature on a node:crypto KeyObject (the engine's cheapest way). No
 * authentication (the caller is named by a header), no idempotency, no validation, no logs, no metrics. What the
 * real vend does beyond this is the price of those; what this costs is the price of the job itself.
 * BENCH_DB: the SQLite file (created); users are created on first sight with a large balance.
 */
const db = openBenchDatabase();
db.exec(`CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0));
  CREATE TABLE IF NOT EXISTS tokens (jti TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL)`);
const ensureUser = db.prepare('INSERT OR IGNORE INTO users (id, balance) VALUES (?, 1000000000)');
const charge = db.prepare('UPDATE users SET balance = balance - 1 WHERE id = ? AND balance > 0 RETURNING balance');
const record = db.prepare('INSERT INTO tokens (jti, user_id, created_at) VALUES (?, ?, ?)');
const vend = db.transaction((userId: string, jti: string, now: number) => {
  ensureUser.run(userId);
  const row = charge.get(userId) as { balance: number } | undefined;
  if (!row) throw new Error('no credits');
  record.run(jti, userId, now);
  return row.balance;
});

const { privateKey: key } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'ttt-service+jwt', kid: 'bench' })).toString(
  'base64url',
);

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/v1/vend-token', express.json(), (req, res) => {
  const userId = req.get('x-bench-user') ?? 'bench-user';
  const jti = `tok_${randomUUID()}`;
  const now = Date.now();
  const iat = Math.floor(now / 1000);
  const payload = Buffer.from(JSON.stringify({ sub: userId, jti, iat, exp: iat + 900 })).toString('base64url');
  const input = `${header}.${payload}`;
  const token = `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  const balanceAfter = vend(userId, jti, now);
  res.json({
    ok: true,
    token,
    tokenId: jti,
    balanceAfter,
    clientRequestId: (req.body as { clientRequestId?: string }).clientRequestId,
  });
});

listenForBench(createServer(app), () => db.close());
