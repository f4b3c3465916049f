/**
 * The error of a job database whose schema is newer than this TTTranscribe: it refuses to start (it cannot know
 * what the newer tables mean) and says what to run.
 *
 * @example
 * if (current > known) throw newerSchemaError(current, known, 'the PostgreSQL database');
 */
export function newerSchemaError(found: number, known: number, where: string): Error {
  return new Error(
    `TTT_DB: ${where} has job schema version ${found}, newer than this TTTranscribe knows (${known}). ` +
      'A newer TTTranscribe migrated it: run that release here too (git pull && npm ci, then npm run start:ttt), ' +
      'or point TTT_DB at a database of this version.',
  );
}
