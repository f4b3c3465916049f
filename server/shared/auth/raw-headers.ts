import type { IncomingMessage } from 'node:http';

/**
 * How many times a header was sent, counted on the raw header list. Node keeps only the first `Authorization`
 * (and joins repeated custom headers such as `X-Engine-Auth` with ", "), so `req.headers` cannot tell one value
 * from several; a credential decision must see them all, since a proxy that reads the last would see another.
 *
 * @example
 * headerCount(req, 'authorization'); // 2 for two Authorization lines
 */
export function headerCount(req: Pick<IncomingMessage, 'rawHeaders'>, name: string): number {
  const raw = req.rawHeaders as string[] | undefined;
  if (!raw) return 0;
  const wanted = name.toLowerCase();
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === wanted) count += 1;
  return count;
}
