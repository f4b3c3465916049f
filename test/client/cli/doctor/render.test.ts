import { describe, expect, it } from 'vitest';
import type { Check } from '../../../../client/cli/doctor/checks.js';
import { renderTable } from '../../../../client/cli/doctor/render.js';

const checks: Check[] = [
  { name: 'engine_reachable', status: 'pass', detail: 'answered in 3 ms.' },
  { name: 'key_ids', status: 'fail', detail: 'The engine differs.', fix: 'Set it.' },
  {
    name: 'engine_integration',
    status: 'pass',
    detail: 'All pass.',
    children: [{ name: 'clock_skew', status: 'pass', detail: '0 s.' }],
  },
  { name: 'signed_probe', status: 'skip', detail: 'Not run.' },
];

describe('renderTable', () => {
  it('uses ✓/✗ on a terminal and PASS/FAIL words otherwise, with fixes and sub-checks', () => {
    const tty = renderTable(checks, { tty: true, engineUrl: 'http://e', tttUrl: 'http://t' });
    expect(tty).toContain('  ✓  engine_reachable    answered in 3 ms.');
    expect(tty).toContain('  ✗  key_ids             The engine differs.');
    expect(tty).toMatch(/\n {25}fix: Set it\.\n/);
    expect(tty).toContain('✓ clock_skew: 0 s.');
    const plain = renderTable(checks, { tty: false, engineUrl: 'http://e', tttUrl: 'http://t' });
    expect(plain).toContain('  FAIL  key_ids ');
    expect(plain).toContain('  SKIP  signed_probe ');
    expect(plain).not.toMatch(/[✓✗]/);
    expect(plain.trimEnd().split('\n').at(-1)).toBe(
      '2 passed, 1 failed, 0 warnings, 1 skipped. Fix the first failure first: later checks often follow from it.',
    );
  });
});
