/**
 * Pinned Elastic IPs: each pinned allocation on one NAT of the zone (and group) it is pinned to.
 * One address can be associated with one interface, so an allocation pinned to several places
 * (two zones, or one zone of two groups through a `*` pin or group tags) would move between them on
 * every run if each pin were planned on its own. It is planned once, over all its pins: it stays
 * on whichever eligible NAT holds it, and otherwise goes to the first eligible NAT in a fixed order
 * (pins by group name and zone, then the caller's preference); the conflict is alerted on.
 * The caller leaves out NATs that the same plan marks Unhealthy or abandons.
 */
import type { Action, Alert, ElasticIpAssociation, ManagedGroup } from './types';

export interface ElasticIpCandidate {
  instanceId: string;
  groupName: string;
  availabilityZone: string;
  networkInterfaceId?: string;
}

interface Pin {
  groupName: string;
  zone: string;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `candidates` in order of preference (best first). */
export function planElasticIps(
  groups: ManagedGroup[],
  associations: ElasticIpAssociation[],
  candidates: ElasticIpCandidate[],
): { actions: Action[]; alerts: Alert[] } {
  const pinsByAllocation = new Map<string, Pin[]>();
  for (const group of [...groups].sort((a, b) => byCodeUnit(a.name, b.name))) {
    for (const [zone, allocationId] of Object.entries(group.elasticIps).sort(([a], [b]) => byCodeUnit(a, b))) {
      const pins = pinsByAllocation.get(allocationId) ?? [];
      pins.push({ groupName: group.name, zone });
      pinsByAllocation.set(allocationId, pins);
    }
  }
  const associationOf = new Map(associations.map((a) => [a.allocationId, a]));
  const actions: Action[] = [];
  const alerts: Alert[] = [];
  for (const [allocationId, pins] of [...pinsByAllocation].sort(([a], [b]) => byCodeUnit(a, b))) {
    const where = pins.map((p) => `${p.groupName}/${p.zone}`);
    if (pins.length > 1) {
      alerts.push({
        kind: 'ElasticIpConflict',
        message: `${allocationId} is pinned to ${where.join(', ')}: one address serves one NAT, so it stays where it is and serves only one of them; pin one address per zone and group`,
        resourceIds: [allocationId],
      });
    }
    const eligible = pins.flatMap((pin) =>
      candidates.filter((n) => n.groupName === pin.groupName && n.availabilityZone === pin.zone && n.networkInterfaceId !== undefined),
    );
    const association = associationOf.get(allocationId);
    // An address associated by ENI may come back without an instance id: match either.
    const holds = (n: ElasticIpCandidate) =>
      (association?.instanceId !== undefined && association.instanceId === n.instanceId) ||
      (association?.networkInterfaceId !== undefined && association.networkInterfaceId === n.networkInterfaceId);
    if (eligible.length === 0 || eligible.some(holds)) continue;
    const holder = association?.instanceId ?? association?.networkInterfaceId;
    const chosen = eligible[0]!;
    const place = pins.length > 1 ? `${chosen.groupName}/${chosen.availabilityZone}` : chosen.availabilityZone;
    actions.push({
      kind: 'AssociateElasticIp',
      allocationId,
      instanceId: chosen.instanceId,
      networkInterfaceId: chosen.networkInterfaceId!,
      reason: holder ? `pinned address of ${place} is on ${holder}, which no longer serves the zone` : `pinned address of ${place} is not associated`,
    });
  }
  return { actions, alerts };
}
