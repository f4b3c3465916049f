import { describe, expect, it } from 'vitest';
import type { components } from '../../../../generated/business-engine/schema.js';
import {
  cachedIntegrationCheck,
  INTEGRATION_REPORT_TTL_MS,
} from '../../../../server/business-engine/health/cached-integration-check.js';

type IntegrationReport = components['schemas']['IntegrationReport'];
const reportAt = (n: number): IntegrationReport => ({ ok: true, checks: [], checkedAt: new Date(n).toISOString() });

describe('cachedIntegrationCheck', () => {
  it("runs one check for callers arriving while it runs, with the first caller's request id", async () => {
    const clock = { ms: 0 };
    const calls: string[] = [];
    let finish!: (r: IntegrationReport) => void;
    const check = cachedIntegrationCheck(
      (requestId) => {
        calls.push(requestId);
        return new Promise((resolve) => {
          finish = resolve;
        });
      },
      { now: () => clock.ms },
    );
    const waiting = Array.from({ length: 100 }, (_, i) => check(`req-${i}`));
    finish(reportAt(1));
    const reports = await Promise.all(waiting);
    expect(calls).toEqual(['req-0']);
    expect(reports[0]).toEqual(reportAt(1));
    expect(reports.every((r) => r === reports[0])).toBe(true);
  });

  it('answers from the report until it is ttl old, then checks again', async () => {
    const clock = { ms: 0 };
    let runs = 0;
    const check = cachedIntegrationCheck(() => Promise.resolve(reportAt(++runs)), { now: () => clock.ms });
    expect((await check('a')).checkedAt).toBe(reportAt(1).checkedAt);
    clock.ms += INTEGRATION_REPORT_TTL_MS - 1;
    expect((await check('b')).checkedAt).toBe(reportAt(1).checkedAt);
    clock.ms += 1;
    expect((await check('c')).checkedAt).toBe(reportAt(2).checkedAt);
    expect(runs).toBe(2);
  });

  it('keeps no failed check: the next caller runs a new one', async () => {
    let runs = 0;
    const check = cachedIntegrationCheck(
      () => (++runs === 1 ? Promise.reject(new Error('boom')) : Promise.resolve(reportAt(runs))),
      { now: () => 0 },
    );
    await expect(check('a')).rejects.toThrow('boom');
    expect((await check('b')).checkedAt).toBe(reportAt(2).checkedAt);
  });

  it('refuses a negative or non-finite ttl', () => {
    expect(() => cachedIntegrationCheck(() => Promise.resolve(reportAt(0)), { now: () => 0, ttlMs: -1 })).toThrow(
      /ttlMs/,
    );
    expect(() =>
      cachedIntegrationCheck(() => Promise.resolve(reportAt(0)), { now: () => 0, ttlMs: Number.NaN }),
    ).toThrow(/ttlMs/);
  });
});
