import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import { openBenchDatabase } from './bench-database.js';
import { listenForBench } from './listen.js';

/*
 * The balance floor: the least any GET /v1/credits/balance that checks its caller can do, on the same stack as the
 * real one. Express 5; the user JWT's HS256 signature checked with node:crypto on every request (no cache) and its
 * `sub` and `exp` read; one SQLite point read (WAL, as the engine) of the user's balance; the same answer shape.
 * No request id, access log, metrics, rate limit, scope check or validation: what the real endpoint does beyond
 * this is the price of those, what this costs is the price of the job itself.
 * BENCH_DB: the SQLite file (created); BENCH_USER_JWT_SECRET: the HS256 secret (raw UTF-8, as USER_JWT_SECRET).
 */
const secret = process.env['BENCH_USER_JWT_SECRET'];
if (!secret) throw new Error('BENCH_USER_JWT_SECRET must be the user JWT secret');
const db = openBenchDatabase();
db.exec(
  'CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, main INTEGER NOT NULL, bonus INTEGER NOT NULL, updated_at INTEGER NOT NULL)',
);
const read = db.prepare<[string], { main: number; bonus: number; updated_at: number }>(
  'SELECT main, bonus, updated_at FROM users WHERE id = ?',
);
// A user's row is created on first sight, so every later read finds its row, as the engine's reads do.
const create = db.prepare<[string, number]>(
  'INSERT OR IGNORE INTO users (id, main, bonus, updated_at) VALUES (?, 0, 3, ?)',
);
const key = Buffer.from(secret, 'utf8');

function createRow(userId: string): { main: number; bonus: number; updated_at: number } {
  create.run(userId, Date.now());
  const row = read.get(userId);
  if (!row) throw new Error(`the row of ${userId} is missing right after its insert`);
  return row;
}

/** The caller's user id, or undefined when the bearer is not a current HS256 JWT signed with the secret. */
function userOf(authorization: string | undefined): string | undefined {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
  const dot = token.lastIndexOf('.');
  const payloadAt = token.indexOf('.') + 1;
  if (dot < 0 || payloadAt === 0 || payloadAt >= dot) return undefined;
  const expected = createHmac('sha256', key).update(token.slice(0, dot)).digest();
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let claims: { sub?: unknown; exp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(token.slice(payloadAt, dot), 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return undefined;
  }
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now())
    return undefined;
  return claims.sub;
}

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/v1/credits/balance', (req, res) => {
  const userId = userOf(req.headers.authorization);
  if (userId === undefined) {
    res.status(401).json({ code: 'invalid_token' });
    return;
  }
  const row = read.get(userId) ?? createRow(userId);
  res.json({
    ok: true,
    userId,
    balance: row.main + row.bonus,
    main: row.main,
    bonus: row.bonus,
    updatedAt: new Date(row.updated_at).toISOString(),
  });
});

listenForBench(createServer(app), () => db.close());
