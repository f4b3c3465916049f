import type { Logger } from 'pino';
import { ConfigError } from '../../shared/config/env.js';
import { describeDatabaseError, isPostgresUrl, redactDatabaseUrl } from '../../shared/db/postgres-url.js';
import type { EngineStore, EngineStoreOptions } from '../db/engine-store.js';
import { openPostgresEngineStore } from './postgres-engine-store.js';
import { SchemaTooNew } from '../db/postgres-migrations.js';
import { openSqliteEngineStore } from './sqlite-engine-store.js';

/**
 * Opens the engine's store from ENGINE_DB: a file path (or ':memory:') is SQLite, created if needed; a
 * `postgres://` / `postgresql://` URL is PostgreSQL, migrated to the current schema. A database that cannot be
 * opened or reached, or whose schema is newer than this engine, is a {@link ConfigError} naming ENGINE_DB and the
 * cause (the URL with its password redacted), so the engine refuses to start.
 *
 * @example
 * const store = await openEngineStore({ db: config.dbPath, poolMax: config.dbPoolMax }, { signupBonus: 3, now: Date.now, logger });
 */
export async function openEngineStore(
  target: { readonly db: string; readonly poolMax: number },
  options: EngineStoreOptions & { readonly logger?: Logger },
): Promise<EngineStore> {
  const where = redactDatabaseUrl(target.db);
  try {
    if (!isPostgresUrl(target.db)) return openSqliteEngineStore(target.db, options);
    return await openPostgresEngineStore(target.db, { ...options, poolMax: target.poolMax });
  } catch (error) {
    const cause = error instanceof SchemaTooNew ? error.message : describeDatabaseError(error, target.db);
    throw new ConfigError([{ variable: 'ENGINE_DB', message: `cannot open the database ${where}: ${cause}` }]);
  }
}
