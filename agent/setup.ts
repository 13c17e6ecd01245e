/**
 * `setup`: make this host a NAT, idempotently. Every step first reads the current state and only
 * writes what differs, so a second run reports no changes.
 */
import { formatCidr, linkAddresses, type Ipv4Cidr } from './cidr';
import { errorMessage, SetupError } from './errors';
import { ensureTunnel } from './handover';
import { defaultRouteDevices, linkStatus, namespaceNames, parseIpJson } from './ip-json';
import { listNftTable, nftReplaceScript, normalizeNft } from './nft-table';
import {
  HOST_VETH,
  NFT_TABLE,
  PROBE_VETH,
  SYSCTL_CONNTRACK_TCP_ESTABLISHED,
  SYSCTL_IP_FORWARD,
  sysctlSendRedirects,
  type System,
} from './system';

export { nftReplaceScript } from './nft-table';

/**
 * NAT Gateway drops a connection idle for 350 s; matching it means clients see the same behaviour
 * (and keepalives tuned for NAT Gateway keep working). Linux's default is 5 days.
 * Source: AWS VPC user guide, "NAT gateway basics" (idle connection timeout).
 */
export const CONNTRACK_TCP_ESTABLISHED_SECONDS = 350;

/**
 * ICMP redirects off. A single-ENI NAT forwards a packet out of the interface it came in on, which
 * makes Linux tell every client "use the VPC router directly" (it sends redirects when `all` OR the
 * interface's own setting is on, so all three are cleared). In a VPC they only leak the NAT's view
 * of the network; clients must keep sending through the NAT.
 */
export function sendRedirectsSysctls(egressInterface: string): string[] {
  return ['all', 'default', egressInterface].map(sysctlSendRedirects);
}

export interface SetupPlan {
  egressInterface: string;
  vpcCidrs: Ipv4Cidr[];
  probeNamespace: string;
  probeCidr: Ipv4Cidr;
  /** The VXLAN device that receives handed-over packets (default on). */
  tunnel?: boolean;
}

export interface SetupResult {
  /** One line per change made; empty when the host was already configured. */
  changes: string[];
}

/** Sorted, de-duplicated source ranges: VPC ranges plus the probe link, so the probe uses the same rule. */
export function masqueradeSources(plan: Pick<SetupPlan, 'vpcCidrs' | 'probeCidr'>): string[] {
  const all = [...plan.vpcCidrs, plan.probeCidr].sort((a, b) => a.network - b.network || a.prefixLength - b.prefixLength);
  return [...new Set(all.map(formatCidr))];
}

/** The table in `nft list table` form, so the current listing can be compared to it. */
export function renderNftTable(plan: Pick<SetupPlan, 'egressInterface' | 'vpcCidrs' | 'probeCidr'>): string {
  const sources = masqueradeSources(plan);
  const saddr = sources.length === 1 ? sources[0] : `{ ${sources.join(', ')} }`;
  return [
    `table ip ${NFT_TABLE} {`,
    '\tchain postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    `\t\toifname "${plan.egressInterface}" ip saddr ${saddr} masquerade`,
    '\t}',
    '}',
    '',
  ].join('\n');
}


async function ensureSysctl(system: System, path: string, value: number, changes: string[]): Promise<void> {
  let current: string;
  try {
    current = (await system.readFile(path)).trim();
  } catch (error) {
    throw new SetupError(`cannot read ${path}: ${errorMessage(error)}`, { cause: error });
  }
  if (current === String(value)) return;
  try {
    await system.writeFile(path, `${value}\n`);
  } catch (error) {
    throw new SetupError(`cannot write ${path}: ${errorMessage(error)}`, { cause: error });
  }
  changes.push(`${path}: ${current} → ${value}`);
}

async function ensureNftTable(system: System, plan: SetupPlan, changes: string[]): Promise<void> {
  const desired = renderNftTable(plan);
  const current = (await listNftTable(system, NFT_TABLE)) ?? '';
  if (normalizeNft(current) === normalizeNft(desired)) return;
  try {
    await system.exec('nft', ['-f', '-'], { input: nftReplaceScript(desired) });
  } catch (error) {
    throw new SetupError(`loading nftables table ip ${NFT_TABLE} failed: ${errorMessage(error)}`, { cause: error });
  }
  changes.push(`nftables table ip ${NFT_TABLE}: masquerade ${masqueradeSources(plan).join(', ')} out of ${plan.egressInterface}`);
}

async function ipJson(system: System, args: string[]): Promise<unknown> {
  return parseIpJson((await system.exec('ip', ['-j', ...args])).stdout);
}

async function ip(system: System, args: string[], changes: string[], what: string): Promise<void> {
  try {
    await system.exec('ip', args);
  } catch (error) {
    throw new SetupError(`${what} failed: ${errorMessage(error)}`, { cause: error });
  }
  changes.push(what);
}

/** The probe namespace, a veth pair to it on the /30, and its default route via the host. */
export async function ensureProbeNamespace(
  system: System,
  plan: Pick<SetupPlan, 'probeNamespace' | 'probeCidr'>,
  changes: string[],
): Promise<void> {
  const ns = plan.probeNamespace;
  const { host, peer } = linkAddresses(plan.probeCidr);
  const prefix = plan.probeCidr.prefixLength;

  let probeAddresses: unknown;
  if (namespaceNames(await ipJson(system, ['netns', 'list'])).includes(ns)) {
    probeAddresses = await ipJson(system, ['-n', ns, 'addr', 'show']).catch(() => undefined);
    // Listed but unusable: a name left behind by a namespace that is gone (e.g. its mount was lost).
    if (probeAddresses === undefined) await ip(system, ['netns', 'del', ns], changes, `stale network namespace ${ns} deleted`);
  }
  if (probeAddresses === undefined) {
    await ip(system, ['netns', 'add', ns], changes, `network namespace ${ns} created`);
    probeAddresses = await ipJson(system, ['-n', ns, 'addr', 'show']);
  }
  let hostLink = linkStatus(await ipJson(system, ['addr', 'show']), HOST_VETH);
  let probeLink = linkStatus(probeAddresses, PROBE_VETH);
  if (!hostLink.exists || !probeLink.exists) {
    // A half pair (e.g. the namespace was deleted and re-created) cannot be repaired: rebuild it.
    if (hostLink.exists) await ip(system, ['link', 'del', HOST_VETH], changes, `stale ${HOST_VETH} deleted`);
    await ip(system, ['link', 'add', HOST_VETH, 'type', 'veth', 'peer', 'name', PROBE_VETH, 'netns', ns], changes, `veth ${HOST_VETH} ↔ ${ns}/${PROBE_VETH} created`);
    hostLink = linkStatus(await ipJson(system, ['addr', 'show']), HOST_VETH);
    probeLink = linkStatus(await ipJson(system, ['-n', ns, 'addr', 'show']), PROBE_VETH);
  }
  if (hostLink.ipv4Addresses.join() !== `${host}/${prefix}`) {
    if (hostLink.ipv4Addresses.length > 0) await ip(system, ['addr', 'flush', 'dev', HOST_VETH], changes, `addresses of ${HOST_VETH} flushed`);
    await ip(system, ['addr', 'add', `${host}/${prefix}`, 'dev', HOST_VETH], changes, `${HOST_VETH} address ${host}/${prefix}`);
  }
  if (!hostLink.up) await ip(system, ['link', 'set', HOST_VETH, 'up'], changes, `${HOST_VETH} up`);
  if (probeLink.ipv4Addresses.join() !== `${peer}/${prefix}`) {
    if (probeLink.ipv4Addresses.length > 0) await ip(system, ['-n', ns, 'addr', 'flush', 'dev', PROBE_VETH], changes, `addresses of ${ns}/${PROBE_VETH} flushed`);
    await ip(system, ['-n', ns, 'addr', 'add', `${peer}/${prefix}`, 'dev', PROBE_VETH], changes, `${ns}/${PROBE_VETH} address ${peer}/${prefix}`);
  }
  if (!probeLink.up) await ip(system, ['-n', ns, 'link', 'set', PROBE_VETH, 'up'], changes, `${ns}/${PROBE_VETH} up`);
  const loopback = linkStatus(await ipJson(system, ['-n', ns, 'addr', 'show']), 'lo');
  if (!loopback.up) await ip(system, ['-n', ns, 'link', 'set', 'lo', 'up'], changes, `${ns}/lo up`);
  const routes = (await ipJson(system, ['-n', ns, '-4', 'route', 'show', 'default'])) as Record<string, unknown>[];
  const hasRoute = routes.some((route) => route.dst === 'default' && route.gateway === host && route.dev === PROBE_VETH);
  if (!hasRoute || routes.length !== 1) {
    await ip(system, ['-n', ns, 'route', 'replace', 'default', 'via', host, 'dev', PROBE_VETH], changes, `${ns} default route via ${host}`);
  }
}

/** The egress interface: the configured one, else the device of the first IPv4 default route. */
export async function resolveEgressInterface(system: System, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const devices = defaultRouteDevices(await ipJson(system, ['-4', 'route', 'show', 'default']));
  const device = devices[0];
  if (!device) throw new SetupError('no IPv4 default route to take the egress interface from; pass --egress-interface');
  return device;
}

export async function setupNat(system: System, plan: SetupPlan): Promise<SetupResult> {
  const changes: string[] = [];
  await ensureSysctl(system, SYSCTL_IP_FORWARD, 1, changes);
  for (const path of sendRedirectsSysctls(plan.egressInterface)) await ensureSysctl(system, path, 0, changes);
  await ensureNftTable(system, plan, changes);
  // The nat table loads conntrack, which is what creates this sysctl.
  await ensureSysctl(system, SYSCTL_CONNTRACK_TCP_ESTABLISHED, CONNTRACK_TCP_ESTABLISHED_SECONDS, changes);
  await ensureProbeNamespace(system, plan, changes);
  // Every NAT can be the one a route moved away from, so every NAT can receive handed-over packets.
  if (plan.tunnel !== false) await ensureTunnel(system, { vpcInterface: plan.egressInterface, vpcCidrs: plan.vpcCidrs }, changes);
  return { changes };
}
