/**
 * setup repairs whatever part of the NAT configuration is wrong, and only that part: a table of
 * broken hosts and the exact commands setup must run on each.
 */
import { describe, expect, it } from 'vitest';
import { parseCidr, type Ipv4Cidr } from '../../agent/cidr';
import { CommandError } from '../../agent/errors';
import { masqueradeSources, renderNftTable, resolveEgressInterface, setupNat, type SetupPlan } from '../../agent/setup';
import { fakeHost } from './helpers/fake-host';

const cidr = (text: string) => parseCidr(text) as Ipv4Cidr;
const PLAN: SetupPlan = {
  egressInterface: 'ens5',
  vpcCidrs: [cidr('10.0.0.0/16')],
  probeNamespace: 'natbeat-probe',
  probeCidr: cidr('169.254.100.0/30'),
  probeSource: '10.0.0.3',
  // The handover tunnel has its own fake host in handover.test.ts and runs for real in the netns tests.
  tunnel: false,
};
const NS = PLAN.probeNamespace;

/** A host setup configured once, ready to be broken. */
async function configuredHost() {
  const host = fakeHost();
  await setupNat(host.system, PLAN);
  host.state.mutations.length = 0;
  return host;
}
type Host = Awaited<ReturnType<typeof configuredHost>>;
const probeLinks = (host: Host) => host.state.namespaces.get(NS)!;
/** The commands that build the veth pair and its route from nothing. */
const NEW_PAIR = [
  `ip link add natbeat-host type veth peer name natbeat-probe netns ${NS}`,
  'ip addr add 169.254.100.1/30 dev natbeat-host',
  'ip link set natbeat-host up',
  `ip -n ${NS} addr add 169.254.100.2/30 dev natbeat-probe`,
  `ip -n ${NS} addr add 10.0.0.3/32 dev natbeat-probe`,
  `ip -n ${NS} link set natbeat-probe up`,
  `ip -n ${NS} route replace default via 169.254.100.1 dev natbeat-probe src 10.0.0.3`,
  'ip route replace 10.0.0.3/32 via 169.254.100.2 dev natbeat-host',
];
const DEFAULT_ROUTE = `ip -n ${NS} route replace default via 169.254.100.1 dev natbeat-probe src 10.0.0.3`;
const HOST_ROUTE = 'ip route replace 10.0.0.3/32 via 169.254.100.2 dev natbeat-host';

describe('Function: setupNat repairs only what is broken', () => {
  it.each([
    {
      name: 'the probe end of the veth pair is gone (half a pair): the pair is rebuilt',
      breakIt: (h: Host) => {
        probeLinks(h).delete('natbeat-probe');
        h.state.routes.delete(NS); // the kernel drops the routes of a device that is gone
      },
      mutations: ['ip link del natbeat-host', ...NEW_PAIR],
    },
    {
      name: 'the host end is gone: the pair is created without deleting anything',
      breakIt: (h: Host) => {
        h.state.host.delete('natbeat-host');
        probeLinks(h).delete('natbeat-probe');
        h.state.routes.delete(NS);
        h.state.hostRoutes = [];
      },
      mutations: NEW_PAIR,
    },
    {
      name: 'the host end has a wrong address: flushed and set',
      breakIt: (h: Host) => (h.state.host.get('natbeat-host')!.addresses = ['169.254.100.5/30']),
      // The kernel takes the device's routes with its last address: the probe source's /32 comes back.
      mutations: ['ip addr flush dev natbeat-host', 'ip addr add 169.254.100.1/30 dev natbeat-host', HOST_ROUTE],
    },
    {
      name: 'the host end has an extra address: flushed and set',
      breakIt: (h: Host) => h.state.host.get('natbeat-host')!.addresses.push('10.9.9.9/24'),
      mutations: ['ip addr flush dev natbeat-host', 'ip addr add 169.254.100.1/30 dev natbeat-host', HOST_ROUTE],
    },
    {
      name: 'the host end has no address: set, nothing flushed',
      breakIt: (h: Host) => (h.state.host.get('natbeat-host')!.addresses = []),
      mutations: ['ip addr add 169.254.100.1/30 dev natbeat-host'],
    },
    {
      name: 'the probe end has a wrong address: flushed and set',
      breakIt: (h: Host) => (probeLinks(h).get('natbeat-probe')!.addresses = ['169.254.100.1/30', '10.0.0.3/32']),
      mutations: [`ip -n ${NS} addr flush dev natbeat-probe`, `ip -n ${NS} addr add 169.254.100.2/30 dev natbeat-probe`, `ip -n ${NS} addr add 10.0.0.3/32 dev natbeat-probe`],
    },
    {
      name: 'the probe end has no address: both set, nothing flushed',
      breakIt: (h: Host) => (probeLinks(h).get('natbeat-probe')!.addresses = []),
      mutations: [`ip -n ${NS} addr add 169.254.100.2/30 dev natbeat-probe`, `ip -n ${NS} addr add 10.0.0.3/32 dev natbeat-probe`],
    },
    {
      name: 'the probe end lacks the probe source (the link-local layout): added, nothing flushed',
      breakIt: (h: Host) => (probeLinks(h).get('natbeat-probe')!.addresses = ['169.254.100.2/30']),
      mutations: [`ip -n ${NS} addr add 10.0.0.3/32 dev natbeat-probe`],
    },
    {
      name: 'the probe end holds another source too: flushed and set',
      breakIt: (h: Host) => probeLinks(h).get('natbeat-probe')!.addresses.push('10.0.0.4/32'),
      mutations: [`ip -n ${NS} addr flush dev natbeat-probe`, `ip -n ${NS} addr add 169.254.100.2/30 dev natbeat-probe`, `ip -n ${NS} addr add 10.0.0.3/32 dev natbeat-probe`],
    },
    {
      name: 'the host has no route to the probe source: added',
      breakIt: (h: Host) => (h.state.hostRoutes = []),
      mutations: [HOST_ROUTE],
    },
    {
      name: 'the host routes the probe source via another next hop: replaced',
      breakIt: (h: Host) => (h.state.hostRoutes = [{ dst: '10.0.0.3', gateway: '169.254.100.1', dev: 'natbeat-host' }]),
      mutations: [HOST_ROUTE],
    },
    {
      name: 'the host routes another address into the namespace (an earlier source): deleted',
      breakIt: (h: Host) => h.state.hostRoutes.unshift({ dst: '10.5.0.3', gateway: '169.254.100.2', dev: 'natbeat-host' }),
      mutations: ['ip route del 10.5.0.3 dev natbeat-host'],
    },
    {
      name: 'proxy ARP is on for the VPC interface',
      breakIt: (h: Host) => h.state.files.set('/proc/sys/net/ipv4/conf/ens5/proxy_arp', '1\n'),
      mutations: ['write /proc/sys/net/ipv4/conf/ens5/proxy_arp'],
    },
    { name: 'the host end is down', breakIt: (h: Host) => (h.state.host.get('natbeat-host')!.up = false), mutations: ['ip link set natbeat-host up'] },
    { name: 'the probe end is down', breakIt: (h: Host) => (probeLinks(h).get('natbeat-probe')!.up = false), mutations: [`ip -n ${NS} link set natbeat-probe up`] },
    { name: 'the namespace’s loopback is down', breakIt: (h: Host) => (probeLinks(h).get('lo')!.up = false), mutations: [`ip -n ${NS} link set lo up`] },
    ...[
      { what: 'is missing', routes: [] },
      { what: 'goes via another gateway', routes: [{ gateway: '169.254.100.5', dev: 'natbeat-probe', prefsrc: '10.0.0.3' }] },
      { what: 'leaves by another device', routes: [{ gateway: '169.254.100.1', dev: 'eth0', prefsrc: '10.0.0.3' }] },
      { what: 'sends from the link address (the link-local layout)', routes: [{ gateway: '169.254.100.1', dev: 'natbeat-probe' }] },
      { what: 'sends from another address', routes: [{ gateway: '169.254.100.1', dev: 'natbeat-probe', prefsrc: '10.0.0.4' }] },
      {
        what: 'is not the only one',
        routes: [
          { gateway: '169.254.100.1', dev: 'natbeat-probe', prefsrc: '10.0.0.3' },
          { gateway: '169.254.100.6', dev: 'natbeat-probe' },
        ],
      },
      { what: 'is not a default route', routes: [{ gateway: '169.254.100.1', dev: 'natbeat-probe', dst: '10.0.0.0/8', prefsrc: '10.0.0.3' }] },
    ].map(({ what, routes }) => ({
      name: `the namespace’s default route ${what}: replaced`,
      breakIt: (h: Host) => h.state.routes.set(NS, routes),
      mutations: [DEFAULT_ROUTE],
    })),
    { name: 'IP forwarding is off', breakIt: (h: Host) => h.state.files.set('/proc/sys/net/ipv4/ip_forward', '0\n'), mutations: ['write /proc/sys/net/ipv4/ip_forward'] },
    { name: 'the nft table is gone', breakIt: (h: Host) => (h.state.table = undefined), mutations: ['nft -f -'] },
  ])('$name', async ({ breakIt, mutations }) => {
    const host = await configuredHost();
    const fresh = structuredClone({ ...host.state, mutations: [] });
    breakIt(host);
    const { changes } = await setupNat(host.system, PLAN);
    expect(host.state.mutations).toEqual(mutations);
    expect(changes).toHaveLength(mutations.length);
    // Repaired: the host is as a fresh setup left it.
    expect({ ...host.state, mutations: [] }).toEqual(fresh);
  });

  it('on a fresh host creates everything and deletes nothing', async () => {
    const { state, system } = fakeHost();
    await setupNat(system, PLAN);
    expect(state.mutations.filter((m) => / del /.test(m))).toEqual([]);
    // The first namespace change adds it (nothing is deleted before).
    expect(state.mutations.find((m) => m.startsWith('ip netns'))).toBe(`ip netns add ${NS}`);
  });

  it('leaves a table nft lists with other whitespace at its ends', async () => {
    const host = await configuredHost();
    host.state.table = `\n  ${host.state.table!.trimEnd()}`;
    expect((await setupNat(host.system, PLAN)).changes).toEqual([]);
  });

  it('says what it changed, one line per change', async () => {
    const host = await configuredHost();
    host.state.files.set('/proc/sys/net/ipv4/ip_forward', '0\n');
    host.state.host.get('natbeat-host')!.addresses = ['169.254.100.5/30'];
    probeLinks(host).get('natbeat-probe')!.up = false;
    host.state.routes.set(NS, []);
    expect((await setupNat(host.system, PLAN)).changes).toEqual([
      '/proc/sys/net/ipv4/ip_forward: 0 → 1',
      'addresses of natbeat-host flushed',
      'natbeat-host address 169.254.100.1/30',
      `${NS}/natbeat-probe up`,
      `${NS} default route via 169.254.100.1 from 10.0.0.3`,
      'route 10.0.0.3/32 via 169.254.100.2 into the probe namespace',
    ]);
  });
});

describe('Function: setupNat fails clearly', () => {
  it.each([
    { name: 'a sysctl that cannot be written', fault: 'write', message: 'cannot write /proc/sys/net/ipv4/ip_forward: read-only file system' },
    { name: 'an ip command that fails', fault: 'ip', message: `network namespace ${NS} created failed: ip netns add exited 1: permission denied` },
  ])('$name', async ({ fault, message }) => {
    const { system } = fakeHost();
    if (fault === 'write') {
      system.writeFile = async () => Promise.reject(new Error('read-only file system'));
    } else {
      const exec = system.exec;
      system.exec = (file, args, options) =>
        args[0] === 'netns' && args[1] === 'add' ? Promise.reject(new CommandError('ip netns add exited 1: permission denied', 'ip', 1, '')) : exec(file, args, options);
    }
    const error = await setupNat(system, PLAN).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe(message);
    // The underlying error travels along for the log.
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it.each([
    { name: 'a sysctl that cannot be read', message: 'cannot read /proc/sys/net/ipv4/ip_forward: ENOENT: /proc/sys/net/ipv4/ip_forward' },
    { name: 'an nft table that cannot be loaded', message: 'loading nftables table ip natbeat failed: nft -f - exited 1: syntax error' },
  ])('$name, with its cause', async ({ message }) => {
    const { state, system } = fakeHost();
    if (message.startsWith('cannot read')) state.files.delete('/proc/sys/net/ipv4/ip_forward');
    const exec = system.exec;
    system.exec = (file, args, options) =>
      file === 'nft' && args[0] === '-f' ? Promise.reject(new CommandError('nft -f - exited 1: syntax error', 'nft', 1, '')) : exec(file, args, options);
    const error = await setupNat(system, PLAN).catch((e: unknown) => e);
    expect((error as Error).message).toBe(message);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});

describe('Function: masqueradeSources and renderNftTable', () => {
  it('sorts by network, then by prefix length, and drops duplicates; the probe link is not a source (the probe sends from a VPC address)', () => {
    const plan = { vpcCidrs: [cidr('10.1.0.0/16'), cidr('10.0.0.0/16'), cidr('10.0.0.0/8'), cidr('10.1.0.0/16')], probeCidr: cidr('169.254.100.0/30') };
    expect(masqueradeSources(plan)).toEqual(['10.0.0.0/8', '10.0.0.0/16', '10.1.0.0/16']);
  });

  it('writes a single source without a set', () => {
    const plan = { egressInterface: 'ens5', vpcCidrs: [cidr('10.0.0.0/16')], probeSource: '10.0.0.3' };
    expect(renderNftTable(plan)).toContain('\t\toifname "ens5" ip saddr 10.0.0.0/16 masquerade\n');
  });
});

describe('Function: resolveEgressInterface', () => {
  it('takes the first of several default routes', async () => {
    const { state, system } = fakeHost();
    state.routes.set('', [
      { gateway: '10.0.0.1', dev: 'ens6' },
      { gateway: '10.0.0.1', dev: 'ens5' },
    ]);
    expect(await resolveEgressInterface(system, undefined)).toBe('ens6');
    expect(await resolveEgressInterface(system, '')).toBe('ens6');
  });
});
