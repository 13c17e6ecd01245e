/** An in-memory host for the agent's setup. */
import { CommandError } from '../../../agent/errors';
import type { Exec } from '../../../agent/exec';
import type { System } from '../../../agent/system';

export interface Link {
  up: boolean;
  addresses: string[];
}

/** A tiny in-memory host that answers the ip/nft commands setup uses, and records the mutating ones. */
export function fakeHost() {
  const state = {
    files: new Map([
      ['/proc/sys/net/ipv4/ip_forward', '0\n'],
      ['/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established', '432000\n'],
    ]),
    table: undefined as string | undefined,
    namespaces: new Map<string, Map<string, Link>>(),
    /** Listed in /run/netns but not usable. */
    staleNamespaces: new Set<string>(),
    host: new Map<string, Link>([['ens5', { up: true, addresses: ['10.0.0.10/24'] }]]),
    routes: new Map<string, { gateway: string; dev: string; dst?: string }[]>(),
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
    if (json) {
      if (text === 'netns list') return ok(JSON.stringify([...state.namespaces.keys(), ...state.staleNamespaces].map((name) => ({ name }))));
      if (text === 'addr show') return ok(addrJson(links));
      if (text === '-4 route show default') {
        return ok(JSON.stringify((state.routes.get(ns ?? '') ?? []).map((r) => ({ dst: 'default', ...r }))));
      }
      return fail(command, 'unexpected query');
    }
    state.mutations.push(command);
    let match: RegExpExecArray | null;
    if ((match = /^netns add (\S+)$/.exec(text))) state.namespaces.set(match[1] as string, new Map([['lo', { up: false, addresses: [] }]]));
    else if ((match = /^netns del (\S+)$/.exec(text))) state.staleNamespaces.delete(match[1] as string);
    else if ((match = /^link add (\S+) type veth peer name (\S+) netns (\S+)$/.exec(text))) {
      links.set(match[1] as string, { up: false, addresses: [] });
      state.namespaces.get(match[3] as string)?.set(match[2] as string, { up: false, addresses: [] });
    } else if ((match = /^addr add (\S+) dev (\S+)$/.exec(text))) links.get(match[2] as string)?.addresses.push(match[1] as string);
    else if ((match = /^link set (\S+) up$/.exec(text))) (links.get(match[1] as string) as Link).up = true;
    else if ((match = /^route replace default via (\S+) dev (\S+)$/.exec(text))) state.routes.set(ns ?? '', [{ gateway: match[1] as string, dev: match[2] as string }]);
    else if ((match = /^link del (\S+)$/.exec(text))) {
      if (!links.delete(match[1] as string)) return fail(command, 'Cannot find device');
      // Either end of a veth pair takes the other with it.
      for (const peers of [state.host, ...state.namespaces.values()]) peers.delete(match[1] === 'natbeat-host' ? 'natbeat-probe' : 'natbeat-host');
    } else if ((match = /^addr flush dev (\S+)$/.exec(text))) (links.get(match[1] as string) as Link).addresses = [];
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

