import { describe, expect, it } from 'vitest';
import { formatCidr, parseCidr, rangeCovers, cidrRange, type Ipv4Cidr } from '../../agent/cidr';
import { defaultRouteDevices, interfaceWithAddress, linkStatus, namespaceNames } from '../../agent/ip-json';
import { sourceNatRules, uncoveredRanges } from '../../agent/nft-json';
import { assessEgress } from '../../agent/probes/egress';
import { assessIpForward } from '../../agent/probes/forwarding';
import { assessNatRules } from '../../agent/probes/nat-rule';

const cidr = (text: string) => parseCidr(text) as Ipv4Cidr;

describe('Function: parseCidr', () => {
  it('parses blocks and bare addresses', () => {
    expect(formatCidr(cidr('10.0.0.0/16'))).toBe('10.0.0.0/16');
    expect(formatCidr(cidr('192.0.2.7'))).toBe('192.0.2.7/32');
    expect(formatCidr(cidr('0.0.0.0/0'))).toBe('0.0.0.0/0');
  });

  it.each(['10.0.0.1/16', '10.0.0.0/33', '256.0.0.0/8', '10.0.0/8', 'x', '10.0.0.0/16/1', '10.0.0.0/'])('rejects %s', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it('answers containment', () => {
    expect(rangeCovers(cidrRange(cidr('10.0.0.0/8')), cidr('10.1.0.0/16'))).toBe(true);
    expect(rangeCovers(cidrRange(cidr('10.1.0.0/16')), cidr('10.0.0.0/8'))).toBe(false);
    expect(rangeCovers(cidrRange(cidr('255.255.255.0/24')), cidr('255.255.255.255/32'))).toBe(true);
  });
});

describe('Function: assessIpForward', () => {
  it.each([
    ['1\n', true, 'net.ipv4.ip_forward = 1'],
    ['0\n', false, 'does not forward'],
    ['', false, 'unexpected value'],
  ])('reads %j', (text, ok, detail) => {
    const outcome = assessIpForward(text);
    expect(outcome.ok).toBe(ok);
    expect(outcome.detail).toContain(detail);
  });
});

const ADDR_JSON = [
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  {
    ifindex: 2,
    ifname: 'ens5',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    addr_info: [
      { family: 'inet', local: '10.0.1.10', prefixlen: 24 },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
    ],
  },
  { ifindex: 3, ifname: 'ens6', flags: ['BROADCAST', 'MULTICAST'], operstate: 'DOWN', addr_info: [{ family: 'inet', local: '10.0.2.10', prefixlen: 24 }] },
  { ifindex: 4, ifname: 'ens7', flags: ['BROADCAST', 'UP'], operstate: 'DOWN', addr_info: [] },
  { ifindex: 5, ifname: 'ens8', flags: ['UP', 'LOWER_UP'], addr_info: [{ family: 'inet6', local: 'fe80::2', prefixlen: 64 }] },
];
const ROUTES_JSON = [{ dst: 'default', gateway: '10.0.1.1', dev: 'ens5', protocol: 'dhcp', flags: [] }];

describe('Parsers of ip -j', () => {
  it('finds the default route devices', () => {
    expect(defaultRouteDevices(ROUTES_JSON)).toEqual(['ens5']);
    expect(defaultRouteDevices([{ dst: '10.0.0.0/16', dev: 'ens5' }, { dst: 'default', type: 'blackhole', dev: 'lo' }])).toEqual([]);
    expect(defaultRouteDevices('garbage')).toEqual([]);
  });

  it('reads link status and IPv4 addresses only', () => {
    expect(linkStatus(ADDR_JSON, 'ens5')).toEqual({ exists: true, up: true, lowerUp: true, ipv4Addresses: ['10.0.1.10/24'] });
    expect(linkStatus(ADDR_JSON, 'nope').exists).toBe(false);
  });

  it('finds the interface holding an IPv4 address, not one holding it as IPv6 or as another address', () => {
    expect(interfaceWithAddress(ADDR_JSON, '10.0.1.10')).toBe('ens5');
    expect(interfaceWithAddress(ADDR_JSON, '10.0.1.3')).toBeUndefined();
    const listing = [
      { ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
      { ifname: 'v6', addr_info: [{ family: 'inet6', local: '10.0.1.3', prefixlen: 64 }] },
      { ifname: 'ens6', addr_info: [{ family: 'inet', local: '10.0.2.9', prefixlen: 24 }, { family: 'inet', local: '10.0.1.3', prefixlen: 24 }] },
    ];
    expect(interfaceWithAddress(listing, '10.0.1.3')).toBe('ens6');
    expect(interfaceWithAddress('garbage', '10.0.1.3')).toBeUndefined();
  });

  it('lists namespace names', () => {
    expect(namespaceNames([{ name: 'natbeat-probe', id: 0 }, { name: 'other' }])).toEqual(['natbeat-probe', 'other']);
  });
});

describe('Function: assessEgress', () => {
  it('passes an up interface with an address and the default route', () => {
    expect(assessEgress(ADDR_JSON, ROUTES_JSON, 'ens5')).toEqual({ ok: true, detail: 'ens5 up, 10.0.1.10/24, default route' });
  });

  it.each([
    ['missing', 'does not exist'],
    ['ens6', 'administratively down'],
    ['ens7', 'no carrier'],
    ['ens8', 'no IPv4 address'],
  ])('fails %s: %s', (name, detail) => {
    const outcome = assessEgress(ADDR_JSON, ROUTES_JSON, name);
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toContain(detail);
  });

  it('fails when the default route leaves by another interface or is gone', () => {
    const routesViaOther = [{ dst: 'default', gateway: '10.0.2.1', dev: 'ens6' }];
    expect(assessEgress(ADDR_JSON, routesViaOther, 'ens5').detail).toBe('no IPv4 default route via ens5 (it goes via ens6)');
    expect(assessEgress(ADDR_JSON, [], 'ens5').detail).toBe('no IPv4 default route via ens5 (there is none)');
  });
});

/** What `nft -j list ruleset` printed for the table `setup` writes. */
const NATBEAT_RULESET = {
  nftables: [
    { metainfo: { version: '1.0.6', json_schema_version: 1 } },
    { table: { family: 'ip', name: 'natbeat', handle: 2 } },
    { chain: { family: 'ip', table: 'natbeat', name: 'postrouting', handle: 1, type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
    {
      rule: {
        family: 'ip',
        table: 'natbeat',
        chain: 'postrouting',
        handle: 3,
        expr: [
          { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'ens5' } },
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'ip', field: 'saddr' } },
              right: { set: [{ prefix: { addr: '10.0.0.0', len: 16 } }, { prefix: { addr: '169.254.100.0', len: 30 } }] },
            },
          },
          { masquerade: null },
        ],
      },
    },
  ],
};

function ruleset(chain: Record<string, unknown>, expr: unknown[]) {
  return {
    nftables: [
      { chain: { family: 'ip', table: 't', name: 'c', ...chain } },
      { rule: { family: 'ip', table: 't', chain: 'c', handle: 1, expr } },
    ],
  };
}
const NAT_CHAIN = { type: 'nat', hook: 'postrouting' };

describe('Function: assessNatRules', () => {
  it('passes when every VPC range is masqueraded out of the egress interface', () => {
    expect(assessNatRules(NATBEAT_RULESET, [cidr('10.0.0.0/16'), cidr('10.0.5.0/24')], 'ens5')).toEqual({
      ok: true,
      detail: '10.0.0.0/16, 10.0.5.0/24 masqueraded out of ens5 (ip natbeat)',
    });
  });

  it('names the ranges without a rule', () => {
    expect(assessNatRules(NATBEAT_RULESET, [cidr('10.0.0.0/16'), cidr('10.1.0.0/16')], 'ens5')).toEqual({
      ok: false,
      detail: 'no masquerade/SNAT rule out of ens5 for 10.1.0.0/16',
    });
  });

  it('fails when the rule leaves by another interface, or the ruleset is empty', () => {
    expect(assessNatRules(NATBEAT_RULESET, [cidr('10.0.0.0/16')], 'ens6').ok).toBe(false);
    expect(assessNatRules({ nftables: [] }, [cidr('10.0.0.0/16')], 'ens5').ok).toBe(false);
  });

  it('accepts an iptables-nft MASQUERADE without a source match (fck-nat style)', () => {
    const iptables = ruleset({ family: 'ip', ...NAT_CHAIN }, [
      { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'ens5' } },
      { counter: { packets: 0, bytes: 0 } },
      { xt: { type: 'target', name: 'MASQUERADE' } },
    ]);
    expect(uncoveredRanges(sourceNatRules(iptables), [cidr('10.0.0.0/16')], 'ens5')).toEqual([]);
  });

  it('accepts snat, ranges and single-prefix matches', () => {
    const snat = ruleset(NAT_CHAIN, [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { range: ['10.0.0.0', '10.0.255.255'] } } },
      { snat: { addr: '198.51.100.1' } },
    ]);
    expect(uncoveredRanges(sourceNatRules(snat), [cidr('10.0.0.0/16')], 'any0')).toEqual([]);
    const prefix = ruleset(NAT_CHAIN, [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.0.0.0', len: 8 } } } },
      { masquerade: null },
    ]);
    expect(uncoveredRanges(sourceNatRules(prefix), [cidr('10.3.0.0/16')], 'ens5')).toEqual([]);
  });

  it('does not vouch for rules it cannot read, outside a postrouting nat chain, or that do not translate', () => {
    const unknownMatch = ruleset(NAT_CHAIN, [
      { match: { op: '==', left: { meta: { key: 'mark' } }, right: 1 } },
      { masquerade: null },
    ]);
    const negated = ruleset(NAT_CHAIN, [
      { match: { op: '!=', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.0.0.0', len: 16 } } } },
      { masquerade: null },
    ]);
    const filterChain = ruleset({ type: 'filter', hook: 'forward' }, [{ masquerade: null }]);
    const accept = ruleset(NAT_CHAIN, [{ accept: null }]);
    for (const set of [unknownMatch, negated, filterChain, accept]) {
      expect(sourceNatRules(set)).toEqual([]);
    }
  });
});
