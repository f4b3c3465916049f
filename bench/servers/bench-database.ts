import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Opens the SQLite file a floor server works on (the file named by BENCH_DB, created with its folder), in WAL mode
 * with synchronous=NORMAL as the engine's database is, so a floor pays what the engine pays per statement and commit.
 *
 * @example
 * const db = openBenchDatabase();
 * db.exec('CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY)');
 */
export function openBenchDatabase(): Database.Database {
  const path = process.env['BENCH_DB'];
  if (!path) throw new Error('BENCH_DB must name a SQLite file');
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}
