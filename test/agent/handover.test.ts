import { describe, expect, it, vi } from 'vitest';
import { formatHandoverTag, parseHandoverTag } from '../../common/handover';
import { parseCidr, type Ipv4Cidr } from '../../agent/cidr';
import { CommandError } from '../../agent/errors';
import type { Exec } from '../../agent/exec';
import {
  ensureHandover,
  handoverRoute,
  handoverRuleArgs,
  inSameSubnet,
  previousLooseOf,
  removeHandover,
  renderHandoverNftTable,
  SYSCTL_TCP_LOOSE,
  tunnelMac,
  validateOldAddress,
} from '../../agent/handover';
import { HANDOVER_RECHECK_MS, HandoverWatcher } from '../../agent/handover-watch';
import { fingerprintOf } from '../../agent/nft-table';
import type { System } from '../../agent/system';

const cidr = (text: string) => parseCidr(text) as Ipv4Cidr;
const VPC = [cidr('10.1.0.0/16'), cidr('10.0.0.0/16')];
const PLAN = { vpcInterface: 'ens5', vpcCidrs: VPC, oldAddress: '10.0.1.9' };
const RP_FILTER = '/proc/sys/net/ipv4/conf/natbeat-vx/rp_filter';

interface TunnelLink {
  mtu: number;
  address: string;
  remote?: string;
  up: boolean;
}

/** An in-memory host answering the ip/nft commands handover uses; records every mutating one. */
function fakeHost() {
  const state = {
    files: new Map([
      [SYSCTL_TCP_LOOSE, '1\n'],
      ['/proc/sys/net/ipv4/conf/all/rp_filter', '0\n'],
    ]),
    tunnel: undefined as TunnelLink | undefined,
    neighbours: new Map<string, string>(),
    routes: [] as { dst: string; gateway: string; dev: string }[],
    rules: [] as { fwmark: string; iif: string; table: string }[],
    tables: new Map<string, string>(),
    mutations: [] as string[],
  };
  const ok = (stdout = '') => Promise.resolve({ stdout, stderr: '' });
  const fail = (command: string, message: string) => Promise.reject(new CommandError(`${command}: ${message}`, command, 2, message));
  const exec: Exec = async (file, args, options) => {
    const command = [file, ...args].join(' ');
    let match: RegExpExecArray | null;
    if ((match = /^nft list table ip (\S+)$/.exec(command))) {
      const table = state.tables.get(match[1] as string);
      return table ? ok(table) : fail(command, 'No such file or directory');
    }
    if (command.startsWith('ip -j ')) {
      const query = args.slice(1).join(' ');
      if (query === 'addr show dev ens5') return ok(JSON.stringify([{ ifname: 'ens5', flags: ['UP'], addr_info: [{ family: 'inet', local: '10.0.1.5', prefixlen: 24 }] }]));
      if (query === 'link show dev ens5') return ok(JSON.stringify([{ ifname: 'ens5', mtu: 9001 }]));
      if (query === '-d link show') {
        const t = state.tunnel;
        const links: unknown[] = [{ ifname: 'ens5', mtu: 9001, flags: ['UP'] }];
        if (t) links.push({ ifname: 'natbeat-vx', mtu: t.mtu, address: t.address, flags: t.up ? ['UP'] : [], linkinfo: { info_kind: 'vxlan', info_data: t.remote ? { remote: t.remote } : {} } });
        return ok(JSON.stringify(links));
      }
      if (query === 'neigh show dev natbeat-vx') return ok(JSON.stringify([...state.neighbours].map(([dst, lladdr]) => ({ dst, lladdr, state: ['PERMANENT'] }))));
      if (query === 'route show table 4942') return state.routes.length === 0 && !state.mutations.some((m) => m.includes('table 4942')) ? fail(command, 'Error: ipv4: FIB table does not exist.') : ok(JSON.stringify(state.routes));
      if (query === 'rule show priority 4942') return ok(JSON.stringify(state.rules.map((r) => ({ priority: 4942, src: 'all', ...r }))));
      return fail(command, 'unexpected query');
    }
    state.mutations.push(command);
    if (command === 'nft -f -') {
      const text = options?.input ?? '';
      const name = /delete table ip (\S+)\n/.exec(text)?.[1] as string;
      state.tables.set(name, text.split(`delete table ip ${name}\n`)[1] as string);
    } else if ((match = /^nft delete table ip (\S+)$/.exec(command))) state.tables.delete(match[1] as string);
    else if (command === 'ip link add natbeat-vx type vxlan id 4942 dstport 4789 nolearning') state.tunnel = { mtu: 1500, address: '9a:00:00:00:00:01', up: false };
    else if ((match = /^ip link set natbeat-vx address (\S+)$/.exec(command))) state.tunnel!.address = match[1] as string;
    else if ((match = /^ip link set natbeat-vx mtu (\d+)$/.exec(command))) state.tunnel!.mtu = Number(match[1]);
    else if (command === 'ip link set natbeat-vx up') state.tunnel!.up = true;
    else if ((match = /^ip link set natbeat-vx type vxlan remote (\S+)$/.exec(command))) state.tunnel!.remote = match[1] === '0.0.0.0' ? undefined : match[1];
    else if ((match = /^ip neigh replace (\S+) lladdr (\S+) dev natbeat-vx nud permanent$/.exec(command))) state.neighbours.set(match[1] as string, match[2] as string);
    else if ((match = /^ip neigh del (\S+) dev natbeat-vx$/.exec(command))) state.neighbours.delete(match[1] as string);
    else if ((match = /^ip route replace default via (\S+) dev (\S+)(?: onlink)? table 4942$/.exec(command))) state.routes = [{ dst: 'default', gateway: match[1] as string, dev: match[2] as string }];
    else if (command === 'ip route flush table 4942') state.routes = [];
    else if ((match = /^ip rule add priority 4942 fwmark (\S+) iif (\S+) lookup 4942$/.exec(command))) state.rules.push({ fwmark: match[1] as string, iif: match[2] as string, table: '4942' });
    else if (command === 'ip rule del priority 4942') state.rules.shift();
    else return fail(command, 'unexpected command');
    return ok();
  };
  const system: System = {
    exec,
    readFile: async (path) => {
      if (path === RP_FILTER && !state.tunnel) throw new Error(`ENOENT: ${path}`);
      return state.files.get(path) ?? (path === RP_FILTER ? '2\n' : Promise.reject(new Error(`ENOENT: ${path}`)));
    },
    writeFile: async (path, text) => {
      state.mutations.push(`write ${path} ${text.trim()}`);
      state.files.set(path, text);
    },
  };
  return { state, system };
}

describe('Function: renderHandoverNftTable', () => {
  it('marks INVALID non-SYN TCP from the VPC ranges to outside, arriving on the VPC interface', () => {
    const table = renderHandoverNftTable(PLAN, '1');
    expect(table).toContain('type filter hook prerouting priority mangle;');
    expect(table).toContain(
      'iifname "ens5" ip saddr { 10.0.0.0/16, 10.1.0.0/16 } ip daddr != { 10.0.0.0/16, 10.1.0.0/16 } ct state invalid tcp flags & syn == 0 counter meta mark set 0x00004e42',
    );
    expect(previousLooseOf(table)).toBe('1');
  });

  it('fingerprints the rules, not the restore value', () => {
    expect(fingerprintOf(renderHandoverNftTable(PLAN, '1'))).toBe(fingerprintOf(renderHandoverNftTable(PLAN, '0')));
    expect(fingerprintOf(renderHandoverNftTable(PLAN, '1'))).not.toBe(fingerprintOf(renderHandoverNftTable({ ...PLAN, vpcInterface: 'eth0' }, '1')));
  });
});

describe('Function: handoverRoute and handoverRuleArgs', () => {
  it('goes straight to the old NAT in the same subnet, else into the tunnel', () => {
    expect(handoverRoute(PLAN, true)).toEqual({ args: ['default', 'via', '10.0.1.9', 'dev', 'ens5', 'table', '4942'], viaTunnel: false });
    expect(handoverRoute(PLAN, false)).toEqual({ args: ['default', 'via', '169.254.101.1', 'dev', 'natbeat-vx', 'onlink', 'table', '4942'], viaTunnel: true });
  });

  it('matches only packets that arrived on the VPC interface (the tunnel\'s own packets carry the mark too)', () => {
    expect(handoverRuleArgs('ens5')).toEqual(['priority', '4942', 'fwmark', '0x4e42', 'iif', 'ens5', 'lookup', '4942']);
  });
});

describe('Function: inSameSubnet, validateOldAddress, tunnelMac', () => {
  it.each([
    [['10.0.1.5/24'], '10.0.1.9', true],
    [['10.0.1.5/24'], '10.0.2.9', false],
    [['10.0.1.5/20'], '10.0.15.200', true],
    [['10.0.1.5/24'], 'nonsense', false],
  ])('%j contains %s: %s', (own, address, expected) => {
    expect(inSameSubnet(own, address)).toBe(expected);
  });

  it('accepts only an address inside the VPC ranges', () => {
    expect(validateOldAddress('10.1.200.3', VPC)).toBeUndefined();
    expect(validateOldAddress('192.0.2.1', VPC)).toBe('192.0.2.1 is outside the VPC ranges 10.1.0.0/16, 10.0.0.0/16');
    expect(validateOldAddress('10.0.1', VPC)).toBe('"10.0.1" is not an IPv4 address');
  });

  it('derives a unique, locally administered MAC from the address', () => {
    expect(tunnelMac('10.77.0.10')).toBe('02:6e:0a:4d:00:0a');
    expect(tunnelMac('10.77.0.11')).not.toBe(tunnelMac('10.77.0.10'));
  });
});

describe('Function: ensureHandover and removeHandover', () => {
  it('same subnet: sets up route, rule, mark and tcp_loose=0; a second run changes nothing; tear-down restores all', async () => {
    const { state, system } = fakeHost();
    const first = await ensureHandover(system, PLAN);
    expect(first.sameSubnet).toBe(true);
    expect(state.routes).toEqual([{ dst: 'default', gateway: '10.0.1.9', dev: 'ens5' }]);
    expect(state.rules).toEqual([{ fwmark: '0x4e42', iif: 'ens5', table: '4942' }]);
    expect(state.files.get(SYSCTL_TCP_LOOSE)).toBe('0\n');
    expect(state.tunnel).toBeUndefined();
    // tcp_loose last: nothing may become INVALID before it has somewhere to go.
    expect(state.mutations.at(-1)).toBe(`write ${SYSCTL_TCP_LOOSE} 0`);

    state.mutations.length = 0;
    expect(await ensureHandover(system, PLAN)).toEqual({ changes: [], sameSubnet: true });
    expect(state.mutations).toEqual([]);

    const removed = await removeHandover(system);
    expect(removed[0]).toBe(`${SYSCTL_TCP_LOOSE}: 0 → 1`);
    expect(state.files.get(SYSCTL_TCP_LOOSE)).toBe('1\n');
    expect(state.tables.size).toBe(0);
    expect(state.rules).toEqual([]);
    expect(state.routes).toEqual([]);
    expect(await removeHandover(system)).toEqual([]);
  });

  it('restores a tcp_loose of 0 that was there before, not the kernel default', async () => {
    const { state, system } = fakeHost();
    state.files.set(SYSCTL_TCP_LOOSE, '0\n');
    await ensureHandover(system, PLAN);
    await removeHandover(system);
    expect(state.files.get(SYSCTL_TCP_LOOSE)).toBe('0\n');
    expect(state.mutations.filter((m) => m.startsWith('write'))).toEqual([]);
  });

  it('other subnet: through the tunnel, with the old NAT as remote and its MAC as next hop; tear-down keeps the device', async () => {
    const { state, system } = fakeHost();
    const { sameSubnet } = await ensureHandover(system, { ...PLAN, oldAddress: '10.0.2.9' });
    expect(sameSubnet).toBe(false);
    expect(state.tunnel).toEqual({ mtu: 8951, address: tunnelMac('10.0.1.5'), remote: '10.0.2.9', up: true });
    expect(state.files.get(RP_FILTER)).toBe('0\n');
    expect(state.neighbours).toEqual(new Map([['169.254.101.1', tunnelMac('10.0.2.9')]]));
    expect(state.routes).toEqual([{ dst: 'default', gateway: '169.254.101.1', dev: 'natbeat-vx' }]);
    expect(state.tables.has('natbeat_tunnel')).toBe(true);

    state.mutations.length = 0;
    expect((await ensureHandover(system, { ...PLAN, oldAddress: '10.0.2.9' })).changes).toEqual([]);

    // The route moves again, now from a NAT in this subnet: straight there, the tunnel's remote gone.
    await ensureHandover(system, PLAN);
    expect(state.tunnel?.remote).toBeUndefined();
    expect(state.neighbours.size).toBe(0);
    expect(state.routes).toEqual([{ dst: 'default', gateway: '10.0.1.9', dev: 'ens5' }]);

    await removeHandover(system);
    expect(state.tunnel).toMatchObject({ up: true, remote: undefined });
  });

  it('refuses an address outside the VPC, or its own', async () => {
    const { state, system } = fakeHost();
    await expect(ensureHandover(system, { ...PLAN, oldAddress: '198.51.100.7' })).rejects.toThrow('handover refused: 198.51.100.7 is outside the VPC ranges');
    await expect(ensureHandover(system, { ...PLAN, oldAddress: '10.0.1.5' })).rejects.toThrow("handover refused: 10.0.1.5 is this NAT's own address");
    expect(state.mutations).toEqual([]);
  });

  it('replaces a rule someone changed', async () => {
    const { state, system } = fakeHost();
    await ensureHandover(system, PLAN);
    state.rules = [{ fwmark: '0x1', iif: 'ens5', table: '4942' }, { fwmark: '0x4e42', iif: 'ens5', table: '4942' }];
    const { changes } = await ensureHandover(system, PLAN);
    expect(changes).toEqual(['ip rule 4942 deleted', 'ip rule 4942 deleted', 'ip rule priority 4942 fwmark 0x4e42 iif ens5 lookup 4942']);
    expect(state.rules).toEqual([{ fwmark: '0x4e42', iif: 'ens5', table: '4942' }]);
  });
});

describe('Class: HandoverWatcher', () => {
  function watcher(tag: { value?: string; error?: Error }) {
    let now = Date.parse('2026-12-01T20:00:00Z');
    const deps = {
      readTag: vi.fn(async () => {
        if (tag.error) throw tag.error;
        return tag.value;
      }),
      ensure: vi.fn(async (address: string) => [`to ${address}`]),
      remove: vi.fn(async () => [] as string[]),
      now: () => now,
      log: vi.fn(),
    };
    return { deps, watcher: new HandoverWatcher(deps), advance: (ms: number) => (now += ms) };
  }

  it('hands over while the tag names a NAT and its time has not come, then stops', async () => {
    const tag: { value?: string } = { value: formatHandoverTag({ address: '10.0.1.9', until: new Date('2026-12-01T20:05:00Z') }) };
    const { deps, watcher: w, advance } = watcher(tag);
    await w.tick();
    await w.tick();
    expect(deps.ensure).toHaveBeenCalledTimes(1);
    expect(deps.ensure).toHaveBeenCalledWith('10.0.1.9');
    expect(deps.log).toHaveBeenCalledWith('info', 'handing mid-stream flows over to 10.0.1.9 until 2026-12-01T20:05:00.000Z', { changes: ['to 10.0.1.9'] });
    advance(HANDOVER_RECHECK_MS);
    await w.tick();
    expect(deps.ensure).toHaveBeenCalledTimes(2); // re-checked now and then
    advance(5 * 60_000);
    await w.tick();
    expect(deps.remove).toHaveBeenCalledTimes(1);
    await w.tick();
    expect(deps.remove).toHaveBeenCalledTimes(1);
  });

  it('clears left-over state once when there is no tag', async () => {
    const { deps, watcher: w } = watcher({});
    await w.tick();
    await w.tick();
    expect(deps.remove).toHaveBeenCalledTimes(1);
    expect(deps.ensure).not.toHaveBeenCalled();
  });

  it('keeps the current state when metadata cannot be read, and says so once', async () => {
    const tag: { value?: string; error?: Error } = { value: formatHandoverTag({ address: '10.0.1.9', until: new Date('2026-12-01T20:05:00Z') }) };
    const { deps, watcher: w } = watcher(tag);
    await w.tick();
    tag.error = new Error('instance metadata unreachable');
    await w.tick();
    await w.tick();
    expect(deps.remove).not.toHaveBeenCalled();
    expect(deps.log.mock.calls.filter(([level]) => level === 'warn')).toEqual([['warn', 'handover tag unreadable, keeping the current state: instance metadata unreachable']]);
  });

  it('treats a malformed tag as no handover, with a warning', async () => {
    const { deps, watcher: w } = watcher({ value: 'somewhere' });
    await w.tick();
    expect(deps.ensure).not.toHaveBeenCalled();
    expect(deps.remove).toHaveBeenCalledTimes(1);
    expect(deps.log).toHaveBeenCalledWith('warn', 'handover tag natbeat:handover-from="somewhere" is not "ADDRESS until TIME"; not handing over');
  });

  it('retries a failed set-up only after the recheck time', async () => {
    const { deps, watcher: w, advance } = watcher({ value: formatHandoverTag({ address: '10.0.1.9', until: new Date('2026-12-01T21:00:00Z') }) });
    deps.ensure.mockRejectedValueOnce(new Error('nft: Operation not permitted'));
    await w.tick();
    await w.tick();
    expect(deps.ensure).toHaveBeenCalledTimes(1);
    expect(deps.log).toHaveBeenCalledWith('warn', 'handover to 10.0.1.9 failed (retried in 60 s): nft: Operation not permitted');
    advance(HANDOVER_RECHECK_MS);
    await w.tick();
    expect(deps.ensure).toHaveBeenCalledTimes(2);
  });
});

describe('Function: formatHandoverTag and parseHandoverTag', () => {
  it('round-trips, in characters EC2 tag values allow', () => {
    const text = formatHandoverTag({ address: '10.0.1.9', until: new Date('2026-12-01T20:05:00.000Z') });
    expect(text).toBe('10.0.1.9 until 2026-12-01T20:05:00Z');
    expect(text).toMatch(/^[\w .:/=+\-@]+$/);
    expect(parseHandoverTag(text)).toEqual({ address: '10.0.1.9', until: new Date('2026-12-01T20:05:00Z') });
  });

  it.each(['', '10.0.1.9', '10.0.1.9 until tomorrow', 'until 2026-12-01T20:05:00Z', '10.0.1.9 until 2026-13-45T99:00:00Z'])('rejects %j', (text) => {
    expect(parseHandoverTag(text)).toBeUndefined();
  });
});
