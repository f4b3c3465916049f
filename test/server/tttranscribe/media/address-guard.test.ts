import { describe, expect, it } from 'vitest';
import { createAddressGuard, parseCidr } from '../../../../server/tttranscribe/media/address-guard.js';

describe('createAddressGuard', () => {
  const guard = createAddressGuard();

  it.each([
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['10.0.0.1', 'a private network address'],
    ['172.16.5.4', 'a private network address'],
    ['172.31.255.255', 'a private network address'],
    ['192.168.1.1', 'a private network address'],
    ['fd12:3456::1', 'a private network address'],
    ['169.254.169.254', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['100.127.255.254', 'a carrier-grade NAT address'],
    ['224.0.0.1', 'a multicast address'],
    ['ff02::1', 'a multicast address'],
    ['255.255.255.255', 'a reserved address'],
    ['198.18.0.1', 'a reserved address'],
    ['::ffff:10.0.0.1', 'a private network address'],
    ['::ffff:7f00:1', 'a loopback address'],
    ['[::ffff:169.254.169.254]', 'a link-local address'],
  ])('refuses %s as %s', (address, reason) => {
    expect(guard.check(address)).toBe(reason);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2606:2800:220:1:248:1893:25c8:1946',
    '::ffff:8.8.8.8',
  ])('allows the public address %s', (address) => {
    expect(guard.check(address)).toBeNull();
  });

  it('refuses anything that is not an IP address', () => {
    expect(guard.check('example.com')).toBe('not an IP address');
  });

  it('lets configured CIDRs through and nothing next to them', () => {
    const lenient = createAddressGuard(['127.0.0.1/32', '10.1.0.0/16', 'fd00::/8']);
    expect(lenient.check('127.0.0.1')).toBeNull();
    expect(lenient.check('::ffff:127.0.0.1')).toBeNull();
    expect(lenient.check('127.0.0.2')).toBe('a loopback address');
    expect(lenient.check('10.1.200.3')).toBeNull();
    expect(lenient.check('10.2.0.1')).toBe('a private network address');
    expect(lenient.check('fd00::5')).toBeNull();
    expect(lenient.check('169.254.169.254')).toBe('a link-local address');
  });

  it('never opens the cloud metadata range 169.254.0.0/16 through a broader range, only when named', () => {
    for (const broad of [['0.0.0.0/0'], ['169.0.0.0/8'], ['::/0'], ['::ffff:0.0.0.0/96']]) {
      const guard = createAddressGuard(broad);
      expect(guard.check('169.254.169.254')).toBe('a link-local address');
      expect(guard.check('[::ffff:169.254.169.254]')).toBe('a link-local address');
    }
    expect(createAddressGuard(['0.0.0.0/0']).check('10.0.0.1')).toBeNull(); // the rest of the range is open
    const named = createAddressGuard(['169.254.169.254/32']);
    expect(named.check('169.254.169.254')).toBeNull();
    expect(named.check('169.254.169.253')).toBe('a link-local address');
    expect(createAddressGuard(['169.254.0.0/16']).check('169.254.1.2')).toBeNull();
  });

  it('judges an IPv6 address that carries an IPv4 one (NAT64, 6to4, IPv4-translated) as that IPv4 address', () => {
    const guard = createAddressGuard();
    expect(guard.check('64:ff9b::a9fe:a9fe')).toBe('a link-local address'); // 169.254.169.254 through NAT64
    expect(guard.check('64:ff9b::7f00:1')).toBe('a loopback address');
    expect(guard.check('64:ff9b::10.1.2.3')).toBe('a private network address');
    expect(guard.check('2002:a9fe:a9fe::1')).toBe('a link-local address'); // 6to4 of 169.254.169.254
    expect(guard.check('2002:c0a8:0101::')).toBe('a private network address');
    expect(guard.check('::ffff:0:a9fe:a9fe')).toBe('a link-local address'); // IPv4-translated
    expect(guard.check('64:ff9b::6464:64c8')).toBe('a cloud metadata address'); // 100.100.100.200
    // A public IPv4 address through NAT64 or 6to4 is a public host.
    expect(guard.check('64:ff9b::5db8:d822')).toBeNull(); // 93.184.216.34
    expect(guard.check('2002:5db8:d822::1')).toBeNull();
    // Tunnels whose IPv4 end cannot be judged.
    expect(guard.check('2001:0:4136:e378:8000:63bf:3fff:fdd2')).toBe('a tunnelled address'); // Teredo
    expect(guard.check('64:ff9b:1::a9fe:a9fe')).toBe('a tunnelled address'); // local-use NAT64
    // What an operator allowed as IPv4 stays allowed when it arrives through NAT64.
    expect(createAddressGuard(['127.0.0.1/32']).check('64:ff9b::7f00:1')).toBeNull();
    expect(createAddressGuard(['::/0']).check('64:ff9b::a9fe:a9fe')).toBe('a link-local address');
  });

  it("keeps the IPv6 and other clouds' metadata addresses closed behind broad private ranges too", () => {
    for (const broad of [['fc00::/7'], ['fd00::/8'], ['::/0'], ['100.64.0.0/10'], ['0.0.0.0/0']]) {
      const guard = createAddressGuard(broad);
      expect(guard.check('fd00:ec2::254'), String(broad)).toBe('a cloud metadata address');
      expect(guard.check('[fd00:ec2::23]'), String(broad)).toBe('a cloud metadata address');
      expect(guard.check('100.100.100.200'), String(broad)).toBe('a cloud metadata address');
    }
    expect(createAddressGuard(['fc00::/7']).check('fd00:ec3::254')).toBeNull(); // the rest of the range is open
    expect(createAddressGuard(['100.64.0.0/10']).check('100.100.100.201')).toBeNull();
    expect(createAddressGuard([]).check('fd00:ec2::254')).toBe('a cloud metadata address');
    expect(createAddressGuard(['fd00:ec2::254/128']).check('fd00:ec2::254')).toBeNull();
    expect(createAddressGuard(['100.100.100.200']).check('100.100.100.200')).toBeNull();
  });
});

describe('parseCidr', () => {
  it('parses ranges and bare addresses', () => {
    expect(parseCidr('127.0.0.1/32')).toEqual({ address: '127.0.0.1', prefix: 32, family: 'ipv4' });
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr(' fd00::/8 ')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
  });

  it.each([
    '',
    'localhost',
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/8/1',
    '10.0.0.0/abc',
    '::1/129',
    '300.1.1.1/8',
    '10.0.0.0/8.5',
  ])('rejects %j', (text) => {
    expect(() => parseCidr(text)).toThrow(/Not a CIDR range/);
  });
});
