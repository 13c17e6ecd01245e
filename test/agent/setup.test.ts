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
  // The handover tunnel has its own fake host in handover.test.ts and runs for real in the netns tests.
  tunnel: false,
};

describe('Function: renderNftTable', () => {
  it('masquerades every VPC range and the probe link out of the egress interface, sorted', () => {
    expect(renderNftTable(PLAN)).toBe(
      [
        'table ip natbeat {',
        '\tchain postrouting {',
        '\t\ttype nat hook postrouting priority srcnat; policy accept;',
        '\t\toifname "ens5" ip saddr { 10.0.0.0/16, 10.1.0.0/16, 169.254.100.0/30 } masquerade',
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
    expect(state.namespaces.get('natbeat-probe')?.get('natbeat-probe')).toEqual({ up: true, addresses: ['169.254.100.2/30'] });
    expect(state.namespaces.get('natbeat-probe')?.get('lo')?.up).toBe(true);
    expect(state.routes.get('natbeat-probe')).toEqual([{ gateway: '169.254.100.1', dev: 'natbeat-probe' }]);

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
    expect(changes).toEqual(['nftables table ip natbeat: masquerade 10.0.0.0/16, 169.254.100.0/30 out of ens5']);
    expect(state.table).toContain('ip saddr { 10.0.0.0/16, 169.254.100.0/30 }');
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
