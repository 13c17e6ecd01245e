/**
 * Builds a FakeAws holding a natbeat deployment at any scale: per group one VPC with a public and a
 * private subnet and one private route table (tag network=private) per AZ, NATs spread over the AZs,
 * each table routed to its own AZ's NAT (or, with fewer NATs than AZs, to the group's first one),
 * and a heartbeat history for every NAT. Ids are hex, like AWS's.
 */
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import { FakeAws, type FakeNat } from './fake-aws';

export const THREE_AZS = ['us-east-1a', 'us-east-1b', 'us-east-1c'];

export interface FleetSpec {
  /** The controller's clock: heartbeats end just before it. */
  now: Date;
  groups: number;
  /** NATs in all, dealt out to the groups in turn, each group's NATs one per AZ in turn. */
  nats: number;
  azs?: string[];
  /** How many NATs (one per group at most, spread up to the last group) stopped beating two minutes before `now`. */
  silent?: number;
  heartbeatPeriodSeconds?: number;
  /** Healthy beats kept per NAT, the newest 2 s before `now`. */
  beats?: number;
  launchedSecondsAgo?: number;
  /** `none`: the private tables have no default route yet (a fresh deployment). */
  routes?: 'same-az' | 'none';
  groupTag?: Record<string, string>;
}

export interface Fleet {
  fake: FakeAws;
  groupNames: string[];
  natIds: string[];
  silentIds: string[];
  /** Private route table ids, grouped by the group whose VPC they are in. */
  tablesByGroup: Map<string, string[]>;
}

export const hexId = (prefix: string, n: number, width = 17) => `${prefix}-${n.toString(16).padStart(width, '0')}`;

export function buildFleet(spec: FleetSpec): Fleet {
  const fake = new FakeAws();
  const azs = spec.azs ?? THREE_AZS;
  const period = spec.heartbeatPeriodSeconds ?? DEFAULT_CONFIG.heartbeatPeriodSeconds;
  const beatCount = spec.beats ?? 8;
  const now = spec.now.getTime();
  const groupNames: string[] = [];
  const tablesByGroup = new Map<string, string[]>();
  const natsOfGroup: FakeNat[][] = [];

  for (let g = 0; g < spec.groups; g++) {
    const name = `natbeat-${String(g).padStart(4, '0')}`;
    const vpcId = hexId('vpc', g + 1);
    groupNames.push(name);
    fake.groups.set(name, {
      name,
      tags: spec.groupTag ?? { [DEFAULT_CONFIG.groupTagKey]: 'true' },
      subnetIds: azs.map((_, z) => hexId('subnet', (g + 1) * 16 + z * 2)),
      healthCheckGracePeriod: 0,
      instanceIds: [],
    });
    const tables: string[] = [];
    azs.forEach((az, z) => {
      const publicSubnet = hexId('subnet', (g + 1) * 16 + z * 2);
      const privateSubnet = hexId('subnet', (g + 1) * 16 + z * 2 + 1);
      fake.subnets.set(publicSubnet, { subnetId: publicSubnet, vpcId, availabilityZone: az });
      fake.subnets.set(privateSubnet, { subnetId: privateSubnet, vpcId, availabilityZone: az });
      const routeTableId = hexId('rtb', (g + 1) * 16 + z);
      fake.tables.set(routeTableId, { routeTableId, vpcId, tags: { network: 'private' }, subnetIds: [privateSubnet] });
      tables.push(routeTableId);
    });
    tablesByGroup.set(name, tables);
    natsOfGroup.push([]);
  }

  const natIds: string[] = [];
  for (let k = 0; k < spec.nats; k++) {
    const g = k % spec.groups;
    const group = fake.groups.get(groupNames[g]!)!;
    const z = group.instanceIds.length % azs.length;
    const instanceId = hexId('i', k + 1);
    const nat: FakeNat = {
      instanceId,
      groupName: group.name,
      availabilityZone: azs[z]!,
      vpcId: hexId('vpc', g + 1),
      subnetId: group.subnetIds[z]!,
      networkInterfaceId: hexId('eni', k + 1),
      lifecycleState: 'InService',
      healthStatus: 'Healthy',
      ec2State: 'running',
      launchTime: new Date(now - (spec.launchedSecondsAgo ?? 3600) * 1000),
      sourceDestCheck: false,
    };
    fake.nats.set(instanceId, nat);
    group.instanceIds.push(instanceId);
    natsOfGroup[g]!.push(nat);
    natIds.push(instanceId);
  }

  // Spread over the groups up to the last one (so over every page), at most one per group.
  const silentCount = Math.min(spec.silent ?? 0, spec.groups);
  const silentIds = Array.from({ length: silentCount }, (_, i) => {
    const nats = natsOfGroup[Math.floor(((i + 1) * spec.groups) / silentCount) - 1]!;
    return nats[i % nats.length]!.instanceId;
  });
  const silent = new Set(silentIds);
  for (const id of natIds) {
    const lastAgo = silent.has(id) ? 120 : 2;
    for (let b = beatCount - 1; b >= 0; b--) fake.beat(id, new Date(now - (lastAgo + b * period) * 1000));
  }

  if ((spec.routes ?? 'same-az') === 'same-az') {
    groupNames.forEach((name, g) => {
      const nats = natsOfGroup[g]!;
      tablesByGroup.get(name)!.forEach((routeTableId, z) => {
        const nat = nats.find((n) => n.availabilityZone === azs[z]) ?? nats[0];
        if (nat) {
          fake.tables.get(routeTableId)!.defaultRoute = {
            NetworkInterfaceId: nat.networkInterfaceId,
            InstanceId: nat.instanceId,
            State: 'active',
          };
        }
      });
    });
  }
  return { fake, groupNames, natIds, silentIds, tablesByGroup };
}
