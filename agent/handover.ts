/**
 * Connection handover after a route move. When the controller moves a route table from NAT *old*
 * to this NAT (*new*), packets of flows that *old* carried arrive here mid-stream. With
 * `nf_conntrack_tcp_loose=0` such a TCP packet has no state here and is INVALID (instead of starting
 * a new masqueraded flow the server would reset); a prerouting rule after conntrack marks exactly
 * those packets (from the VPC ranges, to outside, never a SYN), and a policy rule routes marked
 * packets that arrived on the VPC interface to *old*, which still has the conntrack entry and its
 * public address: directly when *old* is in this subnet, else through the VXLAN device every NAT
 * keeps (see ensureTunnel). New flows are NEW, not INVALID, and leave through this NAT at once.
 *
 * The commands are built by pure functions; ensureHandover/removeHandover read the current state
 * first and change only what differs, so a second run changes nothing and tear-down removes exactly
 * what set-up added (the previous tcp_loose value is kept in the nftables table's comment).
 */
import { HANDOVER_TUNNEL_PORT } from '../common/handover';
import { cidrRange, formatCidr, parseIpv4, type Ipv4Cidr } from './cidr';
import { errorMessage, SetupError } from './errors';
import { linkStatus, parseIpJson } from './ip-json';
import { fingerprintedTable, fingerprintOf, listNftTable, nftReplaceScript } from './nft-table';
import type { System } from './system';

/** Our own nftables table for the mark, apart from the NAT table so either can be replaced alone. */
export const HANDOVER_NFT_TABLE = 'natbeat_handover';
/** "NB" in ASCII; firewall marks of other software rarely use the high bytes of a small number. */
export const HANDOVER_MARK = 0x4e42;
export const HANDOVER_ROUTE_TABLE = 4942;
/** Ahead of the main table (32766); below 1000 are usually the distribution's own rules. */
export const HANDOVER_RULE_PRIORITY = 4942;
/** The VXLAN device of every NAT: it receives handed-over packets, and sends them when it hands over. */
export const TUNNEL_DEVICE = 'natbeat-vx';
export const TUNNEL_VNI = 4942;
export const TUNNEL_PORT = HANDOVER_TUNNEL_PORT;
/**
 * A NAT's tunnel device has a (locally administered) MAC address made of its private IPv4 address,
 * and the next hop on the tunnel resolves to the old NAT's statically: no ARP over the tunnel, so
 * the receiving NAT needs no remote of its own. Unique per NAT: VXLAN drops a frame whose source
 * MAC is the receiving device's own.
 */
export function tunnelMac(address: string): string {
  const value = parseIpv4(address) ?? 0;
  return ['02', '6e', ...[24, 16, 8, 0].map((shift) => (Math.floor(value / 2 ** shift) % 256).toString(16).padStart(2, '0'))].join(':');
}
/** Link-local next hop on the tunnel; never a real address of anything. */
export const TUNNEL_NEXT_HOP = '169.254.101.1';
/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
export const VXLAN_OVERHEAD_BYTES = 50;
export const SYSCTL_TCP_LOOSE = '/proc/sys/net/netfilter/nf_conntrack_tcp_loose';

export interface HandoverPlan {
  /** The interface packets from the VPC arrive on (on a single-ENI NAT, the egress interface). */
  vpcInterface: string;
  vpcCidrs: Ipv4Cidr[];
  /** Private IPv4 address of the NAT that carried the flows before the route moved. */
  oldAddress: string;
}

export interface HandoverRoute {
  /** Arguments after `ip route replace`. */
  args: string[];
  viaTunnel: boolean;
}

const setOf = (items: string[]) => (items.length === 1 ? items[0] : `{ ${items.join(', ')} }`);

/** Our table of the tunnel: its VXLAN port answers the VPC only (the security group narrows it to our NATs). */
export const TUNNEL_NFT_TABLE = 'natbeat_tunnel';

/** The mark table; `previousLoose` (kept in its comment) is what tear-down restores. */
export function renderHandoverNftTable(plan: Pick<HandoverPlan, 'vpcInterface' | 'vpcCidrs'>, previousLoose: string): string {
  const vpc = setOf([...new Set(plan.vpcCidrs.map(formatCidr))].sort());
  const mark = `0x${HANDOVER_MARK.toString(16).padStart(8, '0')}`;
  return fingerprintedTable(
    HANDOVER_NFT_TABLE,
    [
      '\tchain prerouting {',
      // After conntrack (-200), before the routing decision that follows prerouting.
      '\t\ttype filter hook prerouting priority mangle; policy accept;',
      `\t\tiifname "${plan.vpcInterface}" ip saddr ${vpc} ip daddr != ${vpc} ct state invalid tcp flags & syn == 0 counter meta mark set ${mark}`,
      '\t}',
    ],
    `previous nf_conntrack_tcp_loose=${previousLoose}`,
  );
}

/**
 * The tunnel carries exactly one thing: packets of flows this NAT already carries. VXLAN is taken
 * from the VPC only (the security group narrows it to the deployment's NATs); what comes out of the
 * tunnel is forwarded only when it has a VPC source and belongs to a flow in this NAT's conntrack
 * table (so the tunnel cannot relay spoofed or new traffic), and is never delivered to the NAT itself.
 */
export function renderTunnelNftTable(vpcCidrs: Ipv4Cidr[]): string {
  const vpc = setOf([...new Set(vpcCidrs.map(formatCidr))].sort());
  return fingerprintedTable(TUNNEL_NFT_TABLE, [
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy accept;',
    `\t\tudp dport ${TUNNEL_PORT} ip saddr != ${vpc} drop`,
    `\t\tiifname "${TUNNEL_DEVICE}" drop`,
    '\t}',
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy accept;',
    `\t\tiifname "${TUNNEL_DEVICE}" ip saddr != ${vpc} drop`,
    `\t\tiifname "${TUNNEL_DEVICE}" ct state != { established, related } drop`,
    '\t}',
  ]);
}

/** Reads the restore value back out of a listed table; undefined when the comment is not ours. */
export function previousLooseOf(listing: string): string | undefined {
  return /previous nf_conntrack_tcp_loose=([01])"/.exec(listing)?.[1];
}

/** True when `address` is inside one of the interface's own prefixes (e.g. "10.0.1.5/24"). */
export function inSameSubnet(interfaceAddresses: string[], address: string): boolean {
  const target = parseIpv4(address);
  if (target === undefined) return false;
  return interfaceAddresses.some((text) => {
    const [own, length] = text.split('/');
    const ownValue = parseIpv4(own ?? '');
    const prefixLength = Number(length);
    if (ownValue === undefined || !(prefixLength >= 0 && prefixLength <= 32)) return false;
    const size = 2 ** (32 - prefixLength);
    const network = ownValue - (ownValue % size);
    return target >= network && target < network + size;
  });
}

/** The default route of the handover table: straight to *old*, or into the tunnel. */
export function handoverRoute(plan: Pick<HandoverPlan, 'vpcInterface' | 'oldAddress'>, sameSubnet: boolean): HandoverRoute {
  const table = ['table', String(HANDOVER_ROUTE_TABLE)];
  return sameSubnet
    ? { args: ['default', 'via', plan.oldAddress, 'dev', plan.vpcInterface, ...table], viaTunnel: false }
    : { args: ['default', 'via', TUNNEL_NEXT_HOP, 'dev', TUNNEL_DEVICE, 'onlink', ...table], viaTunnel: true };
}

/**
 * `iif` matters: the tunnel's own encapsulated packets inherit the mark of what they carry, and
 * without it they would be routed back into the tunnel.
 */
export function handoverRuleArgs(vpcInterface: string): string[] {
  return ['priority', String(HANDOVER_RULE_PRIORITY), 'fwmark', `0x${HANDOVER_MARK.toString(16)}`, 'iif', vpcInterface, 'lookup', String(HANDOVER_ROUTE_TABLE)];
}

export function tunnelCreateArgs(): string[] {
  return ['link', 'add', TUNNEL_DEVICE, 'type', 'vxlan', 'id', String(TUNNEL_VNI), 'dstport', String(TUNNEL_PORT), 'nolearning'];
}

/** The address the old NAT must be in: one of the VPC ranges (a tag is a hint, never a free pass). */
export function validateOldAddress(address: string, vpcCidrs: Ipv4Cidr[]): string | undefined {
  const value = parseIpv4(address);
  if (value === undefined) return `"${address}" is not an IPv4 address`;
  if (!vpcCidrs.some((cidr) => { const [first, last] = cidrRange(cidr); return value >= first && value <= last; })) {
    return `${address} is outside the VPC ranges ${vpcCidrs.map(formatCidr).join(', ')}`;
  }
  return undefined;
}

type Json = Record<string, unknown>;
const asObjects = (value: unknown): Json[] => (Array.isArray(value) ? value.filter((item): item is Json => typeof item === 'object' && item !== null) : []);

async function ipJson(system: System, args: string[]): Promise<unknown> {
  return parseIpJson((await system.exec('ip', ['-j', ...args])).stdout);
}

async function run(system: System, file: string, args: string[], changes: string[], what: string, input?: string): Promise<void> {
  try {
    await system.exec(file, args, input === undefined ? {} : { input });
  } catch (error) {
    throw new SetupError(`${what} failed: ${errorMessage(error)}`, { cause: error });
  }
  changes.push(what);
}

async function readSysctl(system: System, path: string): Promise<string> {
  try {
    return (await system.readFile(path)).trim();
  } catch (error) {
    throw new SetupError(`cannot read ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

async function writeSysctl(system: System, path: string, from: string, to: string, changes: string[]): Promise<void> {
  if (from === to) return;
  try {
    await system.writeFile(path, `${to}\n`);
  } catch (error) {
    throw new SetupError(`cannot write ${path}: ${errorMessage(error)}`, { cause: error });
  }
  changes.push(`${path}: ${from} → ${to}`);
}

interface TunnelState {
  exists: boolean;
  remote: string | undefined;
  mtu: number | undefined;
  address: string | undefined;
  up: boolean;
}

export function tunnelState(links: unknown): TunnelState {
  const link = asObjects(links).find((item) => item.ifname === TUNNEL_DEVICE);
  if (!link) return { exists: false, remote: undefined, mtu: undefined, address: undefined, up: false };
  const data = ((link.linkinfo as Json | undefined)?.info_data ?? {}) as Json;
  const flags = Array.isArray(link.flags) ? link.flags : [];
  return {
    exists: true,
    remote: typeof data.remote === 'string' ? data.remote : undefined,
    mtu: typeof link.mtu === 'number' ? link.mtu : undefined,
    address: typeof link.address === 'string' ? link.address : undefined,
    up: flags.includes('UP'),
  };
}

async function readTunnel(system: System): Promise<TunnelState> {
  return tunnelState(await ipJson(system, ['-d', 'link', 'show']));
}

/**
 * The tunnel device, without a remote: it receives handed-over packets from any NAT (the security
 * group and the input rule of the NAT table admit them only from the deployment's NATs / the VPC),
 * and gets a remote only while this NAT hands over across subnets. rp_filter is off on it: the
 * private hosts whose packets it carries are reached through the VPC interface, not the tunnel.
 */
export async function ensureTunnel(system: System, plan: Pick<HandoverPlan, 'vpcInterface' | 'vpcCidrs'>, changes: string[]): Promise<void> {
  const { vpcInterface } = plan;
  const filter = renderTunnelNftTable(plan.vpcCidrs);
  const listing = await listNftTable(system, TUNNEL_NFT_TABLE);
  if (listing === undefined || fingerprintOf(listing) !== fingerprintOf(filter)) {
    await run(system, 'nft', ['-f', '-'], changes, `nftables table ip ${TUNNEL_NFT_TABLE}: UDP ${TUNNEL_PORT} from the VPC only`, nftReplaceScript(filter, TUNNEL_NFT_TABLE));
  }
  let tunnel = await readTunnel(system);
  if (!tunnel.exists) {
    await run(system, 'ip', tunnelCreateArgs(), changes, `VXLAN device ${TUNNEL_DEVICE} (VNI ${TUNNEL_VNI}, UDP ${TUNNEL_PORT}) created`);
    tunnel = await readTunnel(system);
  }
  const vpcMtu = (asObjects(await ipJson(system, ['link', 'show', 'dev', vpcInterface]))[0]?.mtu as number | undefined) ?? 1500;
  const mtu = vpcMtu - VXLAN_OVERHEAD_BYTES;
  const own = linkStatus(await ipJson(system, ['addr', 'show', 'dev', vpcInterface]), vpcInterface).ipv4Addresses[0]?.split('/')[0];
  if (own === undefined) throw new SetupError(`tunnel: ${vpcInterface} has no IPv4 address to derive the tunnel's MAC address from`);
  const mac = tunnelMac(own);
  if (tunnel.address !== mac) await run(system, 'ip', ['link', 'set', TUNNEL_DEVICE, 'address', mac], changes, `${TUNNEL_DEVICE} address ${mac}`);
  if (tunnel.mtu !== mtu) await run(system, 'ip', ['link', 'set', TUNNEL_DEVICE, 'mtu', String(mtu)], changes, `${TUNNEL_DEVICE} MTU ${mtu}`);
  // IPv4 only: no link-local IPv6 address and neighbour discovery on a device without a peer.
  const noIpv6 = `/proc/sys/net/ipv6/conf/${TUNNEL_DEVICE}/disable_ipv6`;
  const ipv6 = await system.readFile(noIpv6).then((text) => text.trim(), () => undefined); // IPv6 may be off altogether
  if (ipv6 !== undefined) await writeSysctl(system, noIpv6, ipv6, '1', changes);
  const rpFilter = `/proc/sys/net/ipv4/conf/${TUNNEL_DEVICE}/rp_filter`;
  await writeSysctl(system, rpFilter, await readSysctl(system, rpFilter), '0', changes);
  // The effective value is the larger of "all" and the device's: strict (1) there would drop them.
  const allRpFilter = '/proc/sys/net/ipv4/conf/all/rp_filter';
  const all = await readSysctl(system, allRpFilter);
  if (all === '1') await writeSysctl(system, allRpFilter, all, '2', changes);
  if (!tunnel.up) await run(system, 'ip', ['link', 'set', TUNNEL_DEVICE, 'up'], changes, `${TUNNEL_DEVICE} up`);
}

/** Deletes every rule at our priority (there should be at most one). */
async function deleteOurRules(system: System, changes: string[]): Promise<void> {
  const rules = asObjects(await ipJson(system, ['rule', 'show', 'priority', String(HANDOVER_RULE_PRIORITY)]));
  for (let index = 0; index < rules.length; index++) {
    await run(system, 'ip', ['rule', 'del', 'priority', String(HANDOVER_RULE_PRIORITY)], changes, `ip rule ${HANDOVER_RULE_PRIORITY} deleted`);
  }
}

/** The routes of our table; the kernel reports a table that never had a route as an error. */
async function handoverRoutes(system: System): Promise<Json[]> {
  try {
    return asObjects(await ipJson(system, ['route', 'show', 'table', String(HANDOVER_ROUTE_TABLE)]));
  } catch (error) {
    if (/table does not exist/i.test(errorMessage(error))) return [];
    throw error;
  }
}

function routeMatches(routes: Json[], route: HandoverRoute, plan: HandoverPlan): boolean {
  if (routes.length !== 1) return false;
  const [current] = routes as [Json];
  const gateway = route.viaTunnel ? TUNNEL_NEXT_HOP : plan.oldAddress;
  const device = route.viaTunnel ? TUNNEL_DEVICE : plan.vpcInterface;
  return current.dst === 'default' && current.gateway === gateway && current.dev === device;
}

export interface HandoverResult {
  changes: string[];
  sameSubnet: boolean;
}

/** Sets up (or corrects) handover of INVALID mid-stream TCP packets to `plan.oldAddress`. */
export async function ensureHandover(system: System, plan: HandoverPlan): Promise<HandoverResult> {
  const problem = validateOldAddress(plan.oldAddress, plan.vpcCidrs);
  if (problem) throw new SetupError(`handover refused: ${problem}`);
  const changes: string[] = [];
  const own = linkStatus(await ipJson(system, ['addr', 'show', 'dev', plan.vpcInterface]), plan.vpcInterface);
  if (!own.exists) throw new SetupError(`handover: interface ${plan.vpcInterface} not found`);
  if (own.ipv4Addresses.some((address) => address.split('/')[0] === plan.oldAddress)) {
    throw new SetupError(`handover refused: ${plan.oldAddress} is this NAT's own address`);
  }
  const sameSubnet = inSameSubnet(own.ipv4Addresses, plan.oldAddress);
  const route = handoverRoute(plan, sameSubnet);

  // 1. Where marked packets go: the tunnel's remote and next hop (across subnets), the table, the rule.
  if (route.viaTunnel) {
    await ensureTunnel(system, plan, changes);
    if ((await readTunnel(system)).remote !== plan.oldAddress) {
      await run(system, 'ip', ['link', 'set', TUNNEL_DEVICE, 'type', 'vxlan', 'remote', plan.oldAddress], changes, `${TUNNEL_DEVICE} remote ${plan.oldAddress}`);
    }
    const neighbours = asObjects(await ipJson(system, ['neigh', 'show', 'dev', TUNNEL_DEVICE]));
    const oldMac = tunnelMac(plan.oldAddress);
    const hasNextHop = neighbours.some((n) => n.dst === TUNNEL_NEXT_HOP && n.lladdr === oldMac && Array.isArray(n.state) && n.state.includes('PERMANENT'));
    if (!hasNextHop) {
      await run(system, 'ip', ['neigh', 'replace', TUNNEL_NEXT_HOP, 'lladdr', oldMac, 'dev', TUNNEL_DEVICE, 'nud', 'permanent'], changes, `${TUNNEL_DEVICE} next hop ${TUNNEL_NEXT_HOP} → ${oldMac}`);
    }
  } else {
    await clearTunnelRemote(system, changes);
  }
  const routes = await handoverRoutes(system);
  if (!routeMatches(routes, route, plan)) {
    if (routes.length > 1) await run(system, 'ip', ['route', 'flush', 'table', String(HANDOVER_ROUTE_TABLE)], changes, `route table ${HANDOVER_ROUTE_TABLE} flushed`);
    await run(system, 'ip', ['route', 'replace', ...route.args], changes, `route table ${HANDOVER_ROUTE_TABLE}: default → ${plan.oldAddress}${route.viaTunnel ? ` through ${TUNNEL_DEVICE}` : ` on ${plan.vpcInterface}`}`);
  }
  const wanted = handoverRuleArgs(plan.vpcInterface);
  const rules = asObjects(await ipJson(system, ['rule', 'show', 'priority', String(HANDOVER_RULE_PRIORITY)]));
  const ruleOk = rules.length === 1 && rules[0]?.fwmark === `0x${HANDOVER_MARK.toString(16)}` && rules[0]?.iif === plan.vpcInterface && String(rules[0]?.table) === String(HANDOVER_ROUTE_TABLE);
  if (!ruleOk) {
    await deleteOurRules(system, changes);
    await run(system, 'ip', ['rule', 'add', ...wanted], changes, `ip rule ${wanted.join(' ')}`);
  }

  // 2. The mark, then tcp_loose=0 last: from then on mid-stream packets are INVALID and handed over.
  const loose = await readSysctl(system, SYSCTL_TCP_LOOSE);
  const listing = await listNftTable(system, HANDOVER_NFT_TABLE);
  const previous = (listing && previousLooseOf(listing)) ?? loose;
  const table = renderHandoverNftTable(plan, previous);
  if (listing === undefined || fingerprintOf(listing) !== fingerprintOf(table) || previousLooseOf(listing) !== previous) {
    await run(system, 'nft', ['-f', '-'], changes, `nftables table ip ${HANDOVER_NFT_TABLE}: mark INVALID mid-stream TCP from the VPC`, nftReplaceScript(table, HANDOVER_NFT_TABLE));
  }
  await writeSysctl(system, SYSCTL_TCP_LOOSE, loose, '0', changes);
  return { changes, sameSubnet };
}

async function clearTunnelRemote(system: System, changes: string[]): Promise<void> {
  const tunnel = await readTunnel(system);
  if (!tunnel.exists) return;
  const neighbours = asObjects(await ipJson(system, ['neigh', 'show', 'dev', TUNNEL_DEVICE]));
  if (neighbours.some((n) => n.dst === TUNNEL_NEXT_HOP)) {
    await run(system, 'ip', ['neigh', 'del', TUNNEL_NEXT_HOP, 'dev', TUNNEL_DEVICE], changes, `${TUNNEL_DEVICE} next hop ${TUNNEL_NEXT_HOP} deleted`);
  }
  if (tunnel.remote !== undefined) {
    await run(system, 'ip', ['link', 'set', TUNNEL_DEVICE, 'type', 'vxlan', 'remote', '0.0.0.0'], changes, `${TUNNEL_DEVICE} remote ${tunnel.remote} removed`);
  }
}

/** Stops handing over and removes what ensureHandover added; the tunnel device itself stays. */
export async function removeHandover(system: System): Promise<string[]> {
  const changes: string[] = [];
  const listing = await listNftTable(system, HANDOVER_NFT_TABLE);
  if (listing !== undefined) {
    // First: mid-stream packets without state stop being INVALID, so nothing is marked any more.
    const previous = previousLooseOf(listing);
    if (previous !== undefined) await writeSysctl(system, SYSCTL_TCP_LOOSE, await readSysctl(system, SYSCTL_TCP_LOOSE), previous, changes);
    await run(system, 'nft', ['delete', 'table', 'ip', HANDOVER_NFT_TABLE], changes, `nftables table ip ${HANDOVER_NFT_TABLE} deleted`);
  }
  await deleteOurRules(system, changes);
  const routes = await handoverRoutes(system);
  if (routes.length > 0) await run(system, 'ip', ['route', 'flush', 'table', String(HANDOVER_ROUTE_TABLE)], changes, `route table ${HANDOVER_ROUTE_TABLE} flushed`);
  await clearTunnelRemote(system, changes);
  return changes;
}
