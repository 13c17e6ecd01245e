/** An in-memory host for the agent's setup. */
import { formatCidr, parseIpv4 } from '../../../agent/cidr';
import { CommandError } from '../../../agent/errors';
import type { Exec } from '../../../agent/exec';
import type { System } from '../../../agent/system';

export interface Link {
  up: boolean;
  addresses: string[];
}

/** "169.254.100.1/30" → "169.254.100.0/30": the connected route an address brings. */
function networkOf(address: string): string {
  const [ip, length] = address.split('/') as [string, string];
  const size = 2 ** (32 - Number(length));
  return formatCidr({ network: Math.floor((parseIpv4(ip) as number) / size) * size, prefixLength: Number(length) });
}

/** A tiny in-memory host that answers the ip/nft commands setup uses, and records the mutating ones. */
export function fakeHost() {
  const state = {
    files: new Map([
      ['/proc/sys/net/ipv4/ip_forward', '0\n'],
      ['/proc/sys/net/ipv4/conf/all/send_redirects', '1\n'],
      ['/proc/sys/net/ipv4/conf/default/send_redirects', '1\n'],
      ['/proc/sys/net/ipv4/conf/ens5/send_redirects', '1\n'],
      ['/proc/sys/net/ipv4/conf/all/proxy_arp', '0\n'],
      ['/proc/sys/net/ipv4/conf/ens5/proxy_arp', '0\n'],
      ['/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established', '432000\n'],
    ]),
    table: undefined as string | undefined,
    namespaces: new Map<string, Map<string, Link>>(),
    /** Listed in /run/netns but not usable. */
    staleNamespaces: new Set<string>(),
    host: new Map<string, Link>([['ens5', { up: true, addresses: ['10.0.0.10/24'] }]]),
    /** Default routes, by namespace ('' is the host). */
    routes: new Map<string, { gateway: string; dev: string; dst?: string; prefsrc?: string }[]>(),
    /** The host's other routes (not default, not the connected prefixes of its addresses); a /32 is written as the bare address, as `ip -j` does. */
    hostRoutes: [] as { dst: string; gateway: string; dev: string }[],
    mutations: [] as string[],
  };
  const addrJson = (links: Map<string, Link>) =>
    JSON.stringify(
      [...links].map(([ifname, link]) => ({
        ifname,
        flags: link.up ? ['UP', 'LOWER_UP'] : [],
        addr_info: link.addresses.map((a) => ({ family: 'inet', local: a.split('/')[0], prefixlen: Number(a.split('/')[1]) })),
      })),
    );
  const fail = (command: string, message: string) => Promise.reject(new CommandError(message, command, 1, message));

  const exec: Exec = async (file, args, options) => {
    const command = [file, ...args].join(' ');
    const ok = (stdout = '') => Promise.resolve({ stdout, stderr: '' });
    if (command === 'nft list table ip natbeat') return state.table ? ok(state.table) : fail(command, 'No such file or directory');
    if (command === 'nft -f -') {
      state.mutations.push(command);
      state.table = (options?.input ?? '').split('delete table ip natbeat\n')[1];
      return ok();
    }
    if (file !== 'ip') return fail(command, 'unexpected');
    let rest = [...args];
    const json = rest[0] === '-j' ? (rest.shift(), true) : false;
    let links = state.host;
    let ns: string | undefined;
    if (rest[0] === '-n') {
      ns = rest[1] as string;
      rest = rest.slice(2);
      if (state.staleNamespaces.has(ns) || !state.namespaces.has(ns)) return fail(command, `setting the network namespace "${ns}" failed`);
      links = state.namespaces.get(ns) as Map<string, Link>;
    }
    const text = rest.join(' ');
    let match: RegExpExecArray | null;
    if (json) {
      if (text === 'netns list') return ok(JSON.stringify([...state.namespaces.keys(), ...state.staleNamespaces].map((name) => ({ name }))));
      if (text === 'addr show') return ok(addrJson(links));
      if (text === '-4 route show default') {
        return ok(JSON.stringify((state.routes.get(ns ?? '') ?? []).map((r) => ({ dst: 'default', ...r }))));
      }
      if ((match = /^-4 route show dev (\S+)$/.exec(text)) && ns === undefined) {
        const dev = match[1] as string;
        const connected = (links.get(dev)?.addresses ?? []).filter((a) => !a.endsWith('/32')).map((a) => ({ dst: networkOf(a), protocol: 'kernel', scope: 'link' }));
        return ok(JSON.stringify([...connected, ...state.hostRoutes.filter((r) => r.dev === dev).map(({ dst, gateway }) => ({ dst, gateway }))]));
      }
      return fail(command, 'unexpected query');
    }
    state.mutations.push(command);
    // The kernel drops the routes of a device when it goes or loses its last address.
    const dropRoutesOf = (dev: string) => (state.hostRoutes = state.hostRoutes.filter((r) => r.dev !== dev));
    if ((match = /^netns add (\S+)$/.exec(text))) state.namespaces.set(match[1] as string, new Map([['lo', { up: false, addresses: [] }]]));
    else if ((match = /^netns del (\S+)$/.exec(text))) state.staleNamespaces.delete(match[1] as string);
    else if ((match = /^link add (\S+) type veth peer name (\S+) netns (\S+)$/.exec(text))) {
      links.set(match[1] as string, { up: false, addresses: [] });
      state.namespaces.get(match[3] as string)?.set(match[2] as string, { up: false, addresses: [] });
    } else if ((match = /^addr add (\S+) dev (\S+)$/.exec(text))) links.get(match[2] as string)?.addresses.push(match[1] as string);
    else if ((match = /^link set (\S+) up$/.exec(text))) (links.get(match[1] as string) as Link).up = true;
    else if ((match = /^route replace default via (\S+) dev (\S+)(?: src (\S+))?$/.exec(text))) {
      state.routes.set(ns ?? '', [{ gateway: match[1] as string, dev: match[2] as string, ...(match[3] ? { prefsrc: match[3] } : {}) }]);
    } else if ((match = /^route replace (\S+) via (\S+) dev (\S+)$/.exec(text)) && ns === undefined) {
      const dst = (match[1] as string).replace(/\/32$/, '');
      state.hostRoutes = [...state.hostRoutes.filter((r) => r.dst !== dst), { dst, gateway: match[2] as string, dev: match[3] as string }];
    } else if ((match = /^route del (\S+) dev (\S+)$/.exec(text)) && ns === undefined) {
      const [, dst, dev] = match as unknown as [string, string, string];
      if (!state.hostRoutes.some((r) => r.dst === dst && r.dev === dev)) return fail(command, 'RTNETLINK answers: No such process');
      state.hostRoutes = state.hostRoutes.filter((r) => !(r.dst === dst && r.dev === dev));
    }
    else if ((match = /^link del (\S+)$/.exec(text))) {
      if (!links.delete(match[1] as string)) return fail(command, 'Cannot find device');
      dropRoutesOf('natbeat-host');
      // Either end of a veth pair takes the other with it.
      for (const peers of [state.host, ...state.namespaces.values()]) peers.delete(match[1] === 'natbeat-host' ? 'natbeat-probe' : 'natbeat-host');
    } else if ((match = /^addr flush dev (\S+)$/.exec(text))) {
      (links.get(match[1] as string) as Link).addresses = [];
      if (ns === undefined) dropRoutesOf(match[1] as string);
    }
    else return fail(command, 'unexpected command');
    return ok();
  };
  const system: System = {
    exec,
    readFile: async (path) => {
      const text = state.files.get(path);
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    },
    writeFile: async (path, text) => {
      state.mutations.push(`write ${path}`);
      state.files.set(path, text);
    },
  };
  return { state, system };
}

