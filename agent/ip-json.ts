/** Parsers of `ip -j` output (iproute2 JSON). Pure; unknown shapes yield "not found", never a throw. */

function asArray(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null) : [];
}

/** Devices of the IPv4 default routes in `ip -j -4 route show default`, in kernel order. */
export function defaultRouteDevices(routes: unknown): string[] {
  return asArray(routes)
    .filter((route) => route.dst === 'default' && typeof route.dev === 'string')
    .filter((route) => route.type === undefined || route.type === 'unicast')
    .map((route) => route.dev as string);
}

export interface LinkStatus {
  exists: boolean;
  /** Administratively up (flag UP). */
  up: boolean;
  /** Carrier present (flag LOWER_UP). */
  lowerUp: boolean;
  ipv4Addresses: string[];
}

/** Status of one interface from `ip -j addr show dev NAME`. */
export function linkStatus(addresses: unknown, name: string): LinkStatus {
  const link = asArray(addresses).find((item) => item.ifname === name);
  if (!link) return { exists: false, up: false, lowerUp: false, ipv4Addresses: [] };
  const flags = Array.isArray(link.flags) ? link.flags : [];
  const ipv4Addresses = asArray(link.addr_info)
    .filter((info) => info.family === 'inet' && typeof info.local === 'string')
    .map((info) => `${info.local as string}/${String(info.prefixlen)}`);
  return { exists: true, up: flags.includes('UP'), lowerUp: flags.includes('LOWER_UP'), ipv4Addresses };
}

/** The first interface in `ip -j addr show` that holds the IPv4 `address`, or undefined. */
export function interfaceWithAddress(addresses: unknown, address: string): string | undefined {
  const link = asArray(addresses).find((item) => asArray(item.addr_info).some((info) => info.family === 'inet' && info.local === address));
  return link && String(link.ifname);
}

/** Names of the network namespaces in `ip -j netns list`. */
export function namespaceNames(list: unknown): string[] {
  return asArray(list)
    .map((item) => item.name)
    .filter((name): name is string => typeof name === 'string');
}

/** `ip -j` prints nothing at all for an empty list on some versions. */
export function parseIpJson(text: string): unknown {
  return text.trim() === '' ? [] : JSON.parse(text);
}
