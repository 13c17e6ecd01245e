/**
 * `setup`: make this host a NAT, idempotently. Every step first reads the current state and only
 * writes what differs, so a second run reports no changes.
 */
import { formatCidr, linkAddresses, type Ipv4Cidr } from './cidr';
import { errorMessage, SetupError } from './errors';
import { ensureTunnel } from './handover';
import { defaultRouteDevices, interfaceWithAddress, linkStatus, namespaceNames, parseIpJson } from './ip-json';
import { listNftTable, nftReplaceScript, normalizeNft } from './nft-table';
import {
  HOST_VETH,
  NFT_TABLE,
  PROBE_VETH,
  SYSCTL_CONNTRACK_TCP_ESTABLISHED,
  SYSCTL_IP_FORWARD,
  sysctlProxyArp,
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

/**
 * Proxy ARP off. The probe's source (a reserved address of this NAT's subnet, see probe-source.ts)
 * is routed from the host into the probe namespace; with proxy ARP on the VPC interface Linux would
 * answer ARP for it there (it answers for any address it routes out of another interface), and
 * claim on the VPC side an address no instance may hold. It acts when `all` OR the interface's
 * own setting is on, so both are cleared.
 */
export function proxyArpSysctls(egressInterface: string): string[] {
  return ['all', egressInterface].map(sysctlProxyArp);
}

export interface SetupPlan {
  egressInterface: string;
  vpcCidrs: Ipv4Cidr[];
  probeNamespace: string;
  /** The veth pair's own link (the probe namespace's next hop); outside the VPC. */
  probeCidr: Ipv4Cidr;
  /** The forward-path probe's source address: network+3 of this NAT's subnet (probeSourceFor). */
  probeSource: string;
  /** The VXLAN device that receives handed-over packets (default on). */
  tunnel?: boolean;
}

export interface SetupResult {
  /** One line per change made; empty when the host was already configured. */
  changes: string[];
}

/**
 * Sorted, de-duplicated VPC ranges. The probe's source is a VPC address, so the probe is translated
 * by exactly the rule private hosts are, and a rule narrowed past its subnet fails the probe too.
 */
export function masqueradeSources(plan: Pick<SetupPlan, 'vpcCidrs'>): string[] {
  const all = [...plan.vpcCidrs].sort((a, b) => a.network - b.network || a.prefixLength - b.prefixLength);
  return [...new Set(all.map(formatCidr))];
}

/** The chain that drops the probe's packets if they would leave the NAT untranslated. */
export const PROBE_GUARD_CHAIN = 'probe_guard';

/**
 * The table in `nft list table` form, so the current listing can be compared to it. The guard
 * chain runs after source NAT (priority srcnat + 1), where a translated packet already carries the
 * NAT's address: a packet still carrying the probe's source was not translated (a masquerade rule
 * lost or narrowed) and is dropped, so the reserved address never appears outside the NAT.
 */
export function renderNftTable(plan: Pick<SetupPlan, 'egressInterface' | 'vpcCidrs' | 'probeSource'>): string {
  const sources = masqueradeSources(plan);
  const saddr = sources.length === 1 ? sources[0] : `{ ${sources.join(', ')} }`;
  return [
    `table ip ${NFT_TABLE} {`,
    '\tchain postrouting {',
    '\t\ttype nat hook postrouting priority srcnat; policy accept;',
    `\t\toifname "${plan.egressInterface}" ip saddr ${saddr} masquerade`,
    '\t}',
    '',
    `\tchain ${PROBE_GUARD_CHAIN} {`,
    '\t\ttype filter hook postrouting priority srcnat + 1; policy accept;',
    `\t\tip saddr ${plan.probeSource} drop`,
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
  changes.push(`nftables table ip ${NFT_TABLE}: masquerade ${masqueradeSources(plan).join(', ')} out of ${plan.egressInterface}, untranslated ${plan.probeSource} dropped`);
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

/** Makes a link's IPv4 addresses exactly `wanted`: adds what is missing, and flushes first only when something else is there. */
async function ensureAddresses(system: System, nsArgs: string[], device: string, label: string, current: string[], wanted: string[], changes: string[]): Promise<void> {
  if (current.some((cidr) => !wanted.includes(cidr))) {
    await ip(system, [...nsArgs, 'addr', 'flush', 'dev', device], changes, `addresses of ${label} flushed`);
    current = [];
  }
  for (const cidr of wanted) {
    if (!current.includes(cidr)) await ip(system, [...nsArgs, 'addr', 'add', cidr, 'dev', device], changes, `${label} address ${cidr}`);
  }
}

/**
 * The probe namespace and the veth pair to it: the pair's own link on the /30 (the namespace's
 * next hop is the host end), the probe's source address on the namespace end, the namespace's
 * default route via the host from that source, and on the host the /32 route that brings the
 * replies (de-masqueraded to the probe's source) back into the namespace instead of to the VPC.
 * A namespace of an older layout (link address only) is brought to this one.
 */
export async function ensureProbeNamespace(
  system: System,
  plan: Pick<SetupPlan, 'probeNamespace' | 'probeCidr' | 'probeSource'>,
  changes: string[],
): Promise<void> {
  const ns = plan.probeNamespace;
  const { host, peer } = linkAddresses(plan.probeCidr);
  const prefix = plan.probeCidr.prefixLength;
  const source = plan.probeSource;

  // AWS never gives an instance this address; a host that holds it is not the NAT this layout is for,
  // and its local route would swallow the probe's replies.
  const holder = interfaceWithAddress(await ipJson(system, ['addr', 'show']), source);
  if (holder) {
    throw new SetupError(
      `${source}, the probe's source (network+3 of this NAT's subnet, which AWS reserves and never assigns), is assigned to ${holder} on this host; remove it, or pass the NAT's real subnet with --subnet-cidr`,
    );
  }

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
  await ensureAddresses(system, [], HOST_VETH, HOST_VETH, hostLink.ipv4Addresses, [`${host}/${prefix}`], changes);
  if (!hostLink.up) await ip(system, ['link', 'set', HOST_VETH, 'up'], changes, `${HOST_VETH} up`);
  await ensureAddresses(system, ['-n', ns], PROBE_VETH, `${ns}/${PROBE_VETH}`, probeLink.ipv4Addresses, [`${peer}/${prefix}`, `${source}/32`], changes);
  if (!probeLink.up) await ip(system, ['-n', ns, 'link', 'set', PROBE_VETH, 'up'], changes, `${ns}/${PROBE_VETH} up`);
  const loopback = linkStatus(await ipJson(system, ['-n', ns, 'addr', 'show']), 'lo');
  if (!loopback.up) await ip(system, ['-n', ns, 'link', 'set', 'lo', 'up'], changes, `${ns}/lo up`);
  const routes = (await ipJson(system, ['-n', ns, '-4', 'route', 'show', 'default'])) as Record<string, unknown>[];
  const hasRoute = routes.some((route) => route.dst === 'default' && route.gateway === host && route.dev === PROBE_VETH && route.prefsrc === source);
  if (!hasRoute || routes.length !== 1) {
    await ip(system, ['-n', ns, 'route', 'replace', 'default', 'via', host, 'dev', PROBE_VETH, 'src', source], changes, `${ns} default route via ${host} from ${source}`);
  }
  await ensureHostRoutes(system, plan, changes);
}

/** On the host, the veth carries its own /30 and the /32 of the probe's source; anything else routed into the namespace goes. */
async function ensureHostRoutes(system: System, plan: Pick<SetupPlan, 'probeCidr' | 'probeSource'>, changes: string[]): Promise<void> {
  const { peer } = linkAddresses(plan.probeCidr);
  const link = formatCidr(plan.probeCidr);
  const routes = (await ipJson(system, ['-4', 'route', 'show', 'dev', HOST_VETH])) as Record<string, unknown>[];
  let hasRoute = false;
  for (const route of routes) {
    // `ip -j` writes a /32 destination as the bare address.
    const dst = String(route.dst);
    if (dst === plan.probeSource) hasRoute = route.gateway === peer;
    else if (dst !== link) await ip(system, ['route', 'del', dst, 'dev', HOST_VETH], changes, `stale route ${dst} into the probe namespace deleted`);
  }
  if (!hasRoute) {
    await ip(system, ['route', 'replace', `${plan.probeSource}/32`, 'via', peer, 'dev', HOST_VETH], changes, `route ${plan.probeSource}/32 via ${peer} into the probe namespace`);
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
  for (const path of proxyArpSysctls(plan.egressInterface)) await ensureSysctl(system, path, 0, changes);
  await ensureNftTable(system, plan, changes);
  // The nat table loads conntrack, which is what creates this sysctl.
  await ensureSysctl(system, SYSCTL_CONNTRACK_TCP_ESTABLISHED, CONNTRACK_TCP_ESTABLISHED_SECONDS, changes);
  await ensureProbeNamespace(system, plan, changes);
  // Every NAT can be the one a route moved away from, so every NAT can receive handed-over packets.
  if (plan.tunnel !== false) await ensureTunnel(system, { vpcInterface: plan.egressInterface, vpcCidrs: plan.vpcCidrs }, changes);
  return { changes };
}
