const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/**
 * Whether a service's database setting (ENGINE_DB, TTT_DB) names PostgreSQL (a `postgres://` or `postgresql://`
 * URL) rather than a SQLite file.
 *
 * @example
 * isPostgresUrl('postgresql://app@db/engine'); // true
 * isPostgresUrl('./data/business-engine.db'); // false
 */
export function isPostgresUrl(database: string): boolean {
  return POSTGRES_URL.test(database.trim());
}

/**
 * A database setting with every password replaced by `***`, for logs and error messages: of a PostgreSQL URL, the userinfo password and
 * any query parameter whose name contains `pass` (`?password=`, libpq's `sslpassword=`). A URL that does not
 * parse keeps nothing after `user:` up to `@`.
 *
 * @example
 * redactDatabaseUrl('postgres://app:s3cret@db:5432/ttt'); // 'postgres://app:***@db:5432/ttt'
 * redactDatabaseUrl('postgres://app@db/ttt?password=s3cret'); // 'postgres://app@db/ttt?password=***'
 */
export function redactDatabaseUrl(url: string): string {
  // A SQLite path (or ':memory:', or a file: URI) holds no password: shown as it is.
  if (!isPostgresUrl(url)) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) if (/pass/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@').replace(/([?&][^=&]*pass[^=&]*=)[^&]*/gi, '$1***');
  }
}

/**
 * The passwords a database URL holds (userinfo and `pass` query parameters), to scrub from a driver's message.
 *
 * @example
 * databaseUrlSecrets('postgres://app:s3cret@db/ttt'); // ['s3cret']
 */
export function databaseUrlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const secrets = [decodeURIComponent(parsed.password), parsed.password];
    for (const [key, value] of parsed.searchParams) if (/pass/i.test(key)) secrets.push(value);
    return [...new Set(secrets.filter((s) => s !== ''))];
  } catch {
    return [];
  }
}

/**
 * A database driver's error as one line for a start-up refusal: its message (or code, or name) with every secret
 * of `url` replaced by `***`, and the code in parentheses when there is one.
 *
 * @example
 * throw new Error(`cannot open ${redactDatabaseUrl(url)}: ${describeDatabaseError(error, url)}`, { cause: error });
 */
export function describeDatabaseError(error: unknown, url: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  const text = error instanceof Error ? error.message || error.name : String(error);
  const scrubbed = databaseUrlSecrets(url).reduce((line, secret) => line.replaceAll(secret, '***'), text);
  return typeof code === 'string' ? `${scrubbed} (${code})` : scrubbed;
}
