/** IPv4 addresses and CIDR blocks as numbers, for "is this range covered by that rule" questions. */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  network: number;
  prefixLength: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): number | undefined {
  const match = IPV4.exec(text);
  if (!match) return undefined;
  const octets = match.slice(1).map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Parses "a.b.c.d/n" (a bare address is a /32). The address must be the network address. */
export function parseCidr(text: string): Ipv4Cidr | undefined {
  const [address, length, extra] = text.trim().split('/');
  if (address === undefined || extra !== undefined) return undefined;
  const network = parseIpv4(address);
  const prefixLength = length === undefined ? 32 : /^\d{1,2}$/.test(length) ? Number(length) : NaN;
  if (network === undefined || !(prefixLength >= 0 && prefixLength <= 32)) return undefined;
  if ((network & maskOf(prefixLength)) >>> 0 !== network) return undefined;
  return { network, prefixLength };
}

export function formatCidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.prefixLength}`;
}

/** Range [first, last] of a block. */
export function cidrRange(cidr: Ipv4Cidr): [number, number] {
  const size = 2 ** (32 - cidr.prefixLength);
  return [cidr.network, cidr.network + size - 1];
}

/** True when every address of `inner` lies in [first, last]. */
export function rangeCovers(range: readonly [number, number], inner: Ipv4Cidr): boolean {
  const [first, last] = cidrRange(inner);
  return range[0] <= first && last <= range[1];
}

/** Host addresses of a /30 link: .1 on the host side, .2 in the probe namespace. */
export function linkAddresses(cidr: Ipv4Cidr): { host: string; peer: string } {
  return { host: formatIpv4(cidr.network + 1), peer: formatIpv4(cidr.network + 2) };
}
