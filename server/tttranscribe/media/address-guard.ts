import ipaddr from 'ipaddr.js';
import { BlockList, isIP } from 'node:net';

type Family = 'ipv4' | 'ipv6';

/** Address ranges a media fetch must not reach, each with the words used in the failure message. */
const BLOCKED: ReadonlyArray<readonly [reason: string, ranges: ReadonlyArray<readonly [string, number, Family]>]> = [
  [
    'an unspecified address',
    [
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  ],
  [
    'a loopback address',
    [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  ],
  [
    'a private network address',
    [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
    ],
  ],
  [
    'a link-local address',
    [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  ],
  ['a carrier-grade NAT address', [['100.64.0.0', 10, 'ipv4']]],
  [
    'a multicast address',
    [
      ['224.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ],
  ],
  [
    'a reserved address',
    [
      ['240.0.0.0', 4, 'ipv4'],
      ['192.0.0.0', 24, 'ipv4'],
      ['192.0.2.0', 24, 'ipv4'],
      ['198.18.0.0', 15, 'ipv4'],
      ['198.51.100.0', 24, 'ipv4'],
      ['203.0.113.0', 24, 'ipv4'],
      ['::', 96, 'ipv6'],
      ['fec0::', 10, 'ipv6'],
      ['2001:db8::', 32, 'ipv6'],
      ['100::', 64, 'ipv6'],
    ],
  ],
];

const blockLists = BLOCKED.map(([reason, ranges]) => {
  const list = new BlockList();
  for (const [net, prefix, family] of ranges) list.addSubnet(net, prefix, family);
  return [reason, list] as const;
});

/**
 * Where cloud metadata services answer: 169.254.0.0/16 (link-local IPv4: 169.254.169.254 on AWS, GCP, Azure, Oracle),
 * fd00:ec2::/64 (AWS's IPv6 metadata, DNS and time servers, inside the private fc00::/7) and 100.100.100.200
 * (Alibaba Cloud, inside carrier-grade NAT space). Each opens only to an allowed range lying inside it.
 */
const METADATA_RANGES: ReadonlyArray<readonly [string, number, Family, string]> = [
  ['169.254.0.0', 16, 'ipv4', 'a link-local address'],
  ['fd00:ec2::', 64, 'ipv6', 'a cloud metadata address'],
  ['100.100.100.200', 32, 'ipv4', 'a cloud metadata address'],
];
const metadataRanges = METADATA_RANGES.map(([net, prefix, family, reason]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, prefix, family, reason };
});

/** A parsed `address/prefix` range. */
export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: Family;
}

/**
 * Parses `10.0.0.0/8`, `::1/128` or a bare address (a single host). Throws on anything else.
 *
 * @example
 * parseCidr('127.0.0.1/32'); // { address: '127.0.0.1', prefix: 32, family: 'ipv4' }
 */
export function parseCidr(text: string): Cidr {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) throw new Error(`Not a CIDR range: "${text}"`);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    throw new Error(`Not a CIDR range: "${text}" (prefix must be 0-${max})`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** Decides whether the media fetcher may connect to a resolved IP address. */
export interface AddressGuard {
  /** `null` when the address may be used; otherwise why not, e.g. `'a loopback address'`. */
  check(address: string): string | null;
}

/**
 * Builds the guard: private, loopback, link-local, CGNAT, multicast, unspecified and reserved addresses (IPv4,
 * IPv6 and IPv4-mapped IPv6) are refused unless an `allowCidrs` range contains them; the cloud metadata ranges
 * (169.254.0.0/16, fd00:ec2::/64, 100.100.100.200) only when an `allowCidrs` entry lies inside one, never through a
 * broader range.
 *
 * @example
 * const guard = createAddressGuard(['127.0.0.1/32']);
 * guard.check('127.0.0.1'); // null
 * guard.check('169.254.169.254'); // 'a link-local address'
 */
export function createAddressGuard(allowCidrs: readonly string[] = []): AddressGuard {
  const allowed = new BlockList();
  // Only a range inside a metadata range opens it: a broad entry (0.0.0.0/0, 169.0.0.0/8, fc00::/7) never reaches
  // a cloud metadata service.
  const allowedMetadata = new BlockList();
  for (const text of allowCidrs) {
    const cidr = parseCidr(text);
    allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
    for (const range of metadataRanges) {
      if (cidr.family === range.family && cidr.prefix >= range.prefix && range.list.check(cidr.address, cidr.family))
        allowedMetadata.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }
  const check = (address: string): string | null => {
    const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
    const version = isIP(bare);
    if (version === 0) return 'not an IP address';
    const family: Family = version === 4 ? 'ipv4' : 'ipv6';
    // An IPv6 address that carries an IPv4 one (NAT64, 6to4, IPv4-translated) reaches that IPv4 address: it is
    // judged as that address, so 64:ff9b::a9fe:a9fe is the metadata service, not a public host.
    const embedded = family === 'ipv6' ? embeddedIpv4(bare) : undefined;
    if (embedded === null) return 'a tunnelled address';
    if (embedded !== undefined) return check(embedded);
    const metadata = metadataRanges.find((range) => range.list.check(bare, family));
    if (metadata) return allowedMetadata.check(bare, family) ? null : metadata.reason;
    if (allowed.check(bare, family)) return null;
    for (const [reason, list] of blockLists) if (list.check(bare, family)) return reason;
    return null;
  };
  return { check };
}

/**
 * The IPv4 address an IPv6 one stands for, when it embeds one: NAT64's well-known prefix 64:ff9b::/96 (RFC 6052),
 * IPv4-translated ::ffff:0:0:0/96 (RFC 6145) and 6to4 2002::/16 (RFC 3056). `null` for a tunnel whose IPv4 end
 * cannot be judged (Teredo, local-use NAT64 64:ff9b:1::/48); `undefined` for any other address.
 */
function embeddedIpv4(address: string): string | null | undefined {
  let parsed: ipaddr.IPv6;
  try {
    parsed = ipaddr.IPv6.parse(address);
  } catch {
    return undefined;
  }
  const words = parsed.parts;
  const v4 = (high: number, low: number) => [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  if (parsed.match(NAT64_WELL_KNOWN) || parsed.match(IPV4_TRANSLATED)) return v4(words[6] ?? 0, words[7] ?? 0);
  if (parsed.match(SIX_TO_FOUR)) return v4(words[1] ?? 0, words[2] ?? 0);
  if (parsed.match(TEREDO) || parsed.match(NAT64_LOCAL_USE)) return null;
  return undefined;
}

const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96') as [ipaddr.IPv6, number];
const NAT64_LOCAL_USE = ipaddr.parseCIDR('64:ff9b:1::/48') as [ipaddr.IPv6, number];
const IPV4_TRANSLATED = ipaddr.parseCIDR('::ffff:0:0:0/96') as [ipaddr.IPv6, number];
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16') as [ipaddr.IPv6, number];
const TEREDO = ipaddr.parseCIDR('2001::/32') as [ipaddr.IPv6, number];
