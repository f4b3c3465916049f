import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { trustProxy } from '../../../../server/shared/config/trust-proxy.js';

const parse = (value: string | undefined) => z.object({ TRUST_PROXY: trustProxy() }).safeParse({ TRUST_PROXY: value });

describe('trustProxy (a TRUST_PROXY variable)', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['false', false],
    ['0', false],
    ['1', 1],
    ['10', 10],
    ['loopback', ['loopback']],
    ['loopback, 10.0.0.0/8,fd00::/8', ['loopback', '10.0.0.0/8', 'fd00::/8']],
    ['192.0.2.10', ['192.0.2.10']],
    ['linklocal,uniquelocal', ['linklocal', 'uniquelocal']],
  ])('reads %j as %j', (value, expected) => {
    expect(parse(value)).toMatchObject({ success: true, data: { TRUST_PROXY: expected } });
  });

  it.each(['true', '11', '-1', 'yes', '10.0.0.0/33', 'loopback,', 'lb.internal', '10.0.0.0/8/1', '1.5'])(
    'refuses %j, saying what is accepted',
    (value) => {
      const result = parse(value);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(/hop count/);
    },
  );
});
