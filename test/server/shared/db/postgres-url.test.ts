import { describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../../../scripts/net/free-port.js';
import { FAULT_HEADER } from '../../../../server/sandbox/magic-inputs.js';
import {
  databaseUrlSecrets,
  describeDatabaseError,
  isPostgresUrl,
  redactDatabaseUrl,
} from '../../../../server/shared/db/postgres-url.js';
import { SANDBOX_FAULT_HEADER } from '../../../../server/shared/http/sandbox-fault-header.js';
import { openTttStorage } from '../../../../server/tttranscribe/storage.js';

describe('PostgreSQL URLs (one definition for the engine, TTTranscribe and the rate-limit store)', () => {
  it('recognises postgres:// and postgresql:// only', () => {
    expect(isPostgresUrl('postgres://u@127.0.0.1:5432/db')).toBe(true);
    expect(isPostgresUrl(' PostgreSQL://u@db.internal/db')).toBe(true);
    expect(isPostgresUrl('./data/postgres.db')).toBe(false);
    expect(isPostgresUrl(':memory:')).toBe(false);
  });

  it('redacts the userinfo password and every pass query parameter', () => {
    expect(redactDatabaseUrl('postgres://app:TEST-ONLY-pw@db.internal:5432/ttt')).toBe(
      'postgres://app:***@db.internal:5432/ttt',
    );
    expect(redactDatabaseUrl('postgresql://app@127.0.0.1/ttt?sslmode=require&password=TEST-ONLY&sslpassword=x')).toBe(
      'postgresql://app@127.0.0.1/ttt?sslmode=require&password=***&sslpassword=***',
    );
    expect(redactDatabaseUrl('./data/tttranscribe.db')).toBe('./data/tttranscribe.db');
    expect(databaseUrlSecrets('postgres://app:p%40ss@db/ttt?password=q')).toEqual(['p@ss', 'p%40ss', 'q']);
  });

  it('describes a driver error without any secret of the URL, with its code', () => {
    const url = 'postgres://app:TEST-ONLY-pw@db.internal/engine?sslpassword=TEST-ONLY-ssl';
    const error = Object.assign(new Error('auth failed for TEST-ONLY-pw and TEST-ONLY-ssl'), { code: '28P01' });
    expect(describeDatabaseError(error, url)).toBe('auth failed for *** and *** (28P01)');
    expect(describeDatabaseError('plain TEST-ONLY-pw', url)).toBe('plain ***');
  });

  it('TTTranscribe never repeats a ?password= of TTT_DB when it cannot open the database', async () => {
    const port = await freeLoopbackPort();
    const error = await openTttStorage(`postgres://ttt@127.0.0.1:${port}/jobs?password=TEST-ONLY-hunter2`, {
      poolMax: 1,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^TTT_DB: cannot open .*\?password=\*\*\*/);
    expect((error as Error).message).not.toContain('TEST-ONLY-hunter2');
  });
});

describe('the sandbox fault header', () => {
  it('is one definition: the sandbox injects faults with the very header the services refuse', () => {
    expect(FAULT_HEADER).toBe(SANDBOX_FAULT_HEADER);
  });
});
