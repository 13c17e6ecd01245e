/** `egress`: the egress interface is up, has an IPv4 address, and carries the default route. */
import { defaultRouteDevices, linkStatus, parseIpJson } from '../ip-json';
import type { System } from '../system';
import type { Probe, ProbeOutcome } from './types';
import type { EgressInterface } from './egress-interface';

export function assessEgress(addresses: unknown, defaultRoutes: unknown, name: string): ProbeOutcome {
  const link = linkStatus(addresses, name);
  if (!link.exists) return { ok: false, detail: `interface ${name} does not exist` };
  if (!link.up) return { ok: false, detail: `interface ${name} is administratively down` };
  if (!link.lowerUp) return { ok: false, detail: `interface ${name} has no carrier (LOWER_UP missing)` };
  if (link.ipv4Addresses.length === 0) return { ok: false, detail: `interface ${name} has no IPv4 address` };
  const devices = defaultRouteDevices(defaultRoutes);
  if (!devices.includes(name)) {
    const others = devices.length > 0 ? `it goes via ${devices.join(', ')}` : 'there is none';
    return { ok: false, detail: `no IPv4 default route via ${name} (${others})` };
  }
  return { ok: true, detail: `${name} up, ${link.ipv4Addresses.join(', ')}, default route` };
}

export function egressProbe(system: Pick<System, 'exec'>, egress: EgressInterface): Probe {
  return {
    name: 'egress',
    async run(signal) {
      const name = await egress.name(signal);
      if (!name) return { ok: false, detail: 'no IPv4 default route, so no egress interface (pass --egress-interface)' };
      const [addresses, routes] = await Promise.all([
        system.exec('ip', ['-j', 'addr', 'show'], { signal }),
        system.exec('ip', ['-j', '-4', 'route', 'show', 'default'], { signal }),
      ]);
      return assessEgress(parseIpJson(addresses.stdout), parseIpJson(routes.stdout), name);
    },
  };
}
