import { describe, expect, it } from 'vitest';
import { parseCidr, type Ipv4Cidr } from '../../agent/cidr';
import { CommandError } from '../../agent/errors';
import { nftReplaceScript, renderNftTable, resolveEgressInterface, setupNat, type SetupPlan } from '../../agent/setup';
import { fakeHost } from './helpers/fake-host';

const cidr = (text: string) => parseCidr(text) as Ipv4Cidr;
const PLAN: SetupPlan = {
  egressInterface: 'ens5',
  vpcCidrs: [cidr('10.1.0.0/16'), cidr('10.0.0.0/16')],
  probeNamespace: 'natbeat-probe',
  probeCidr: cidr('169.254.100.0/30'),
  // network+3 of the NAT's subnet 10.0.0.0/24 (ens5 has 10.0.0.10/24 in the fake host).
  probeSource: '10.0.0.3',
  // The handover tunnel has its own fake host in handover.test.ts and runs for real in the netns tests.
  tunnel: false,
};

describe('Function: renderNftTable', () => {
  it('masquerades every VPC range out of the egress interface, sorted, and drops the probe source if it is still untranslated after source NAT', () => {
    expect(renderNftTable(PLAN)).toBe(
      [
        'table ip natbeat {',
        '\tchain postrouting {',
        '\t\ttype nat hook postrouting priority srcnat; policy accept;',
        '\t\toifname "ens5" ip saddr { 10.0.0.0/16, 10.1.0.0/16 } masquerade',
        '\t}',
        '',
        '\tchain probe_guard {',
        '\t\ttype filter hook postrouting priority srcnat + 1; policy accept;',
        '\t\tip saddr 10.0.0.3 drop',
        '\t}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('replaces the table in one transaction', () => {
    expect(nftReplaceScript('X')).toBe('table ip natbeat {}\ndelete table ip natbeat\nX');
  });
});

describe('Function: setupNat', () => {
  it('configures a fresh host, and a second run changes nothing', async () => {
    const { state, system } = fakeHost();
    const first = await setupNat(system, PLAN);
    expect(first.changes.length).toBeGreaterThan(5);
    expect(state.files.get('/proc/sys/net/ipv4/ip_forward')).toBe('1\n');
    // ICMP redirects off everywhere the kernel looks (all OR the interface), and for new interfaces.
    for (const scope of ['all', 'default', 'ens5']) expect(state.files.get(`/proc/sys/net/ipv4/conf/${scope}/send_redirects`)).toBe('0\n');
    expect(first.changes).toContain('/proc/sys/net/ipv4/conf/ens5/send_redirects: 1 → 0');
    expect(state.files.get('/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established')).toBe('350\n');
    expect(state.table).toBe(renderNftTable(PLAN));
    expect(state.host.get('natbeat-host')).toEqual({ up: true, addresses: ['169.254.100.1/30'] });
    // The link address (the next hop's subnet) and the probe's source.
    expect(state.namespaces.get('natbeat-probe')?.get('natbeat-probe')).toEqual({ up: true, addresses: ['169.254.100.2/30', '10.0.0.3/32'] });
    expect(state.namespaces.get('natbeat-probe')?.get('lo')?.up).toBe(true);
    expect(state.routes.get('natbeat-probe')).toEqual([{ gateway: '169.254.100.1', dev: 'natbeat-probe', prefsrc: '10.0.0.3' }]);
    // Replies, de-masqueraded to the probe's source, go into the namespace, not to the subnet.
    expect(state.hostRoutes).toEqual([{ dst: '10.0.0.3', gateway: '169.254.100.2', dev: 'natbeat-host' }]);

    state.mutations.length = 0;
    // nft lists the table with its own whitespace; only the content counts.
    state.table = state.table?.replace(/\t/g, '  ');
    expect(await setupNat(system, PLAN)).toEqual({ changes: [] });
    expect(state.mutations).toEqual([]);
  });

  it('rewrites the table when the VPC ranges change', async () => {
    const { state, system } = fakeHost();
    await setupNat(system, PLAN);
    const { changes } = await setupNat(system, { ...PLAN, vpcCidrs: [cidr('10.0.0.0/16')] });
    expect(changes).toEqual(['nftables table ip natbeat: masquerade 10.0.0.0/16 out of ens5, untranslated 10.0.0.3 dropped']);
    expect(state.table).toContain('oifname "ens5" ip saddr 10.0.0.0/16 masquerade');
  });

  it('brings a probe namespace of the link-local layout (before the probe had a VPC source) to the new one, then changes nothing', async () => {
    const { state, system } = fakeHost();
    await setupNat(system, PLAN);
    // What the earlier layout left: the probe sent from its link address, masqueraded through the link /30.
    state.table = state.table!.replace('{ 10.0.0.0/16, 10.1.0.0/16 }', '{ 10.0.0.0/16, 10.1.0.0/16, 169.254.100.0/30 }').replace(/\n\tchain probe_guard \{[^}]*\}\n/, '');
    state.namespaces.get('natbeat-probe')!.get('natbeat-probe')!.addresses = ['169.254.100.2/30'];
    state.routes.set('natbeat-probe', [{ gateway: '169.254.100.1', dev: 'natbeat-probe' }]);
    state.hostRoutes = [];
    state.mutations.length = 0;
    const { changes } = await setupNat(system, PLAN);
    expect(state.mutations).toEqual([
      'nft -f -',
      'ip -n natbeat-probe addr add 10.0.0.3/32 dev natbeat-probe',
      'ip -n natbeat-probe route replace default via 169.254.100.1 dev natbeat-probe src 10.0.0.3',
      'ip route replace 10.0.0.3/32 via 169.254.100.2 dev natbeat-host',
    ]);
    expect(changes).toEqual([
      'nftables table ip natbeat: masquerade 10.0.0.0/16, 10.1.0.0/16 out of ens5, untranslated 10.0.0.3 dropped',
      'natbeat-probe/natbeat-probe address 10.0.0.3/32',
      'natbeat-probe default route via 169.254.100.1 from 10.0.0.3',
      'route 10.0.0.3/32 via 169.254.100.2 into the probe namespace',
    ]);
    expect(state.table).toBe(renderNftTable(PLAN));
    expect(await setupNat(system, PLAN)).toEqual({ changes: [] });
  });

  it('moves the probe to a new source when the subnet changes, leaving no route to the old one', async () => {
    const { state, system } = fakeHost();
    await setupNat(system, PLAN);
    state.mutations.length = 0;
    await setupNat(system, { ...PLAN, probeSource: '10.1.4.3' });
    expect(state.mutations).toEqual([
      'nft -f -',
      'ip -n natbeat-probe addr flush dev natbeat-probe',
      'ip -n natbeat-probe addr add 169.254.100.2/30 dev natbeat-probe',
      'ip -n natbeat-probe addr add 10.1.4.3/32 dev natbeat-probe',
      'ip -n natbeat-probe route replace default via 169.254.100.1 dev natbeat-probe src 10.1.4.3',
      'ip route del 10.0.0.3 dev natbeat-host',
      'ip route replace 10.1.4.3/32 via 169.254.100.2 dev natbeat-host',
    ]);
    expect(state.hostRoutes).toEqual([{ dst: '10.1.4.3', gateway: '169.254.100.2', dev: 'natbeat-host' }]);
  });

  it('refuses, before touching the namespace, a host that holds the probe source itself', async () => {
    const { state, system } = fakeHost();
    state.host.get('ens5')!.addresses.push('10.0.0.3/24');
    await expect(setupNat(system, PLAN)).rejects.toThrow(
      "10.0.0.3, the probe's source (network+3 of this NAT's subnet, which AWS reserves and never assigns), is assigned to ens5 on this host; remove it, or pass the NAT's real subnet with --subnet-cidr",
    );
    expect(state.mutations.filter((m) => m.startsWith('ip '))).toEqual([]);
  });

  it('turns proxy ARP off on the VPC interface and for all, so the NAT never answers ARP for the probe source', async () => {
    const { state, system } = fakeHost();
    state.files.set('/proc/sys/net/ipv4/conf/all/proxy_arp', '1\n');
    state.files.set('/proc/sys/net/ipv4/conf/ens5/proxy_arp', '1\n');
    const { changes } = await setupNat(system, PLAN);
    expect(changes).toContain('/proc/sys/net/ipv4/conf/all/proxy_arp: 1 → 0');
    expect(changes).toContain('/proc/sys/net/ipv4/conf/ens5/proxy_arp: 1 → 0');
    expect(state.files.get('/proc/sys/net/ipv4/conf/ens5/proxy_arp')).toBe('0\n');
  });

  it('replaces a probe namespace that is listed but unusable', async () => {
    const { state, system } = fakeHost();
    state.staleNamespaces.add('natbeat-probe');
    const { changes } = await setupNat(system, PLAN);
    expect(changes.slice(6, 8)).toEqual(['stale network namespace natbeat-probe deleted', 'network namespace natbeat-probe created']);
    expect(state.namespaces.get('natbeat-probe')?.get('natbeat-probe')?.up).toBe(true);
  });

  it('fails with the nft message when the table cannot be loaded', async () => {
    const { system } = fakeHost();
    const exec = system.exec;
    system.exec = (file, args, options) =>
      file === 'nft' && args[0] === '-f' ? Promise.reject(new CommandError('nft -f - exited 1: Error: Could not process rule', 'nft', 1, '')) : exec(file, args, options);
    await expect(setupNat(system, PLAN)).rejects.toThrow('loading nftables table ip natbeat failed: nft -f - exited 1: Error: Could not process rule');
  });

  it('fails clearly when conntrack is not available', async () => {
    const { state, system } = fakeHost();
    state.files.delete('/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established');
    await expect(setupNat(system, PLAN)).rejects.toThrow('cannot read /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established');
  });
});

describe('Function: resolveEgressInterface', () => {
  it('prefers the configured name, else the default route device', async () => {
    const { state, system } = fakeHost();
    expect(await resolveEgressInterface(system, 'eth9')).toBe('eth9');
    await expect(resolveEgressInterface(system, undefined)).rejects.toThrow('no IPv4 default route to take the egress interface from; pass --egress-interface');
    state.routes.set('', [{ gateway: '10.0.0.1', dev: 'ens5' }]);
    expect(await resolveEgressInterface(system, undefined)).toBe('ens5');
  });
});
