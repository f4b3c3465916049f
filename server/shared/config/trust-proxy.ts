import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Express's `trust proxy` setting, as TRUST_PROXY variables allow it: `false` (off: `req.ip` is the connecting
 * address), a hop count (trust that many proxies in front), or named ranges / addresses / CIDRs of the proxies.
 */
export type TrustProxy = false | number | readonly string[];

const NAMED = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_HOPS = 10;

function isAddressOrCidr(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const max = version === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= max;
}

/**
 * A TRUST_PROXY variable (ENGINE_TRUST_PROXY, TTT_TRUST_PROXY): unset, `false` or `0` is off (the default); a whole
 * number 1-10 trusts that many proxy hops; otherwise a comma-separated list of `loopback`, `linklocal`,
 * `uniquelocal`, IP addresses or CIDRs names the proxies whose X-Forwarded-For is believed. Anything else is refused,
 * since a wrong value either lets any caller choose its rate-limit key or puts every caller under one.
 *
 * @example
 * z.object({ TTT_TRUST_PROXY: trustProxy() }).parse({ TTT_TRUST_PROXY: 'loopback' }); // { TTT_TRUST_PROXY: ['loopback'] }
 */
export function trustProxy() {
  return z
    .string()
    .trim()
    .optional()
    .transform((value, ctx): TrustProxy => {
      if (value === undefined || value === '' || value === 'false' || value === '0') return false;
      if (/^\d+$/.test(value)) {
        const hops = Number(value);
        if (hops <= MAX_HOPS) return hops;
        ctx.addIssue({ code: 'custom', message: `must be a hop count of at most ${MAX_HOPS}` });
        return z.NEVER;
      }
      const entries = value.split(',').map((e) => e.trim());
      if (entries.every((e) => NAMED.has(e) || isAddressOrCidr(e))) return entries;
      ctx.addIssue({
        code: 'custom',
        message:
          'must be false, a hop count (1-10), or a comma-separated list of loopback, linklocal, uniquelocal, ' +
          'IP addresses or CIDRs (the load balancers in front of this service)',
      });
      return z.NEVER;
    });
}
