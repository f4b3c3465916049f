import type { TestProject } from 'vitest/node';
import { startThrowawayCluster } from '../../scripts/postgres/throwaway-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL server (its `postgres` database). */
    postgresAdminUrl: string;
  }
}

/**
 * One PostgreSQL server for the whole test run: `PLUCT_TEST_DATABASE_URL` when set (a server of yours; the tests
 * create and drop their own databases on it), else a throwaway cluster started here and removed after the run.
 * Test files get fresh databases from `test/helpers/postgres.ts`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env['PLUCT_TEST_DATABASE_URL'];
  if (given) {
    project.provide('postgresAdminUrl', given);
    return async () => {};
  }
  const cluster = await startThrowawayCluster();
  project.provide('postgresAdminUrl', cluster.adminUrl);
  return () => cluster.stop();
}
