import { afterAll, describe, expect, it } from 'vitest';
import { isJobFailureCode, jobFailureCatalog, jobFailureCodes } from '../../../generated/errors.js';
import { jobScenarios, runFailingJob, type JobScenarios } from './job-scenarios.js';
import { createJobWorld } from './job-world.js';

/*
 * Issue 6, item 2, job failures: every job failure code of the catalog is produced by the real media pipeline
 * of a real TTTranscribe, reached through a real Business Engine. Polled through the engine, the failed job's
 * status carries the code with its catalog responsibility and retryable flag, and creditRefunded: true.
 * Driven by generated/errors.ts: a job failure code added without a scenario fails here, by name.
 */
const world = createJobWorld();
afterAll(() => world.close());

const table: Partial<Record<string, JobScenarios>> = jobScenarios;
const HOW_TO_ADD = 'add a job scenario for it in test/contract/catalog/job-scenarios.ts';

describe('catalog reachability: job failure codes', () => {
  it('has a producing job for every job failure code, and none for a code the catalog lacks', () => {
    const missing = jobFailureCodes.filter((code) => (table[code]?.length ?? 0) === 0);
    expect(missing, `job failure codes no test produces: ${missing.join(', ')}; ${HOW_TO_ADD}`).toEqual([]);
    expect(Object.keys(table).filter((code) => !isJobFailureCode(code))).toEqual([]);
  });

  for (const code of jobFailureCodes) {
    const list = table[code] ?? [];
    if (list.length === 0) {
      it(`${code}: is produced by the real pipeline`, () => {
        expect.fail(`no job scenario produces ${code}; ${HOW_TO_ADD}`);
      });
      continue;
    }
    for (const scenario of list) {
      it(`${code}: ${scenario.how}`, async () => {
        const meta = jobFailureCatalog[code];
        const job = await runFailingJob(world, scenario);
        const error = {
          code,
          responsibility: meta.responsibility,
          retryable: meta.retryable,
          message: expect.any(String),
        };
        expect(job.engineStatus, JSON.stringify(job.engineStatus)).toMatchObject({
          ok: true,
          status: 'failed',
          error,
          creditRefunded: true,
        });
        expect(job.engineStatus.error?.message.length, 'the failure says what happened').toBeGreaterThan(0);
        expect(job.tttStatus, "TTTranscribe's own status").toMatchObject({ status: 'failed', error });
        expect(job.ledger[0], 'the credit came back').toMatchObject({
          kind: 'refund',
          amount: 1,
          reason: `job_failed:${code}`,
          tokenId: job.tokenId,
        });
      });
    }
  }
});
