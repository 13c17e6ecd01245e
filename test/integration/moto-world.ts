/**
 * The example deployment, built in moto: one VPC with a public and a private subnet per AZ
 * (us-east-1a/b/c), a private route table per AZ (tag network=private) associated with its private
 * subnet, and NAT instances from a launch template.
 *
 * moto puts every instance of an Auto Scaling group in the group's first subnet, so a single group
 * spanning three AZs would put all NATs in us-east-1a. The world therefore has one group per AZ
 * (each with one subnet and one NAT, all tagged natbeat:managed=true) — the "size-1 group per AZ"
 * layout some NAT-instance deployments use; the controller treats both layouts alike.
 */
import {
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
  type Tag,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import type { AwsClients } from '../../lambdas/core/clients';
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import { createNatLaunchTemplate, createNatNetwork, putBeats, type Beat } from '../support/moto-network';

export const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'] as const;

export interface MotoZone {
  az: string;
  publicSubnetId: string;
  privateSubnetId: string;
  routeTableId: string;
  groupName: string;
}

export interface MotoWorld {
  vpcId: string;
  launchTemplateName: string;
  zones: MotoZone[];
}

export interface WorldOptions {
  /** Makes every name unique to the test. */
  prefix: string;
  /** Extra tags on each group, e.g. pinned Elastic IPs (`natbeat:eip:<az>`). */
  groupTags?: (zone: MotoZone) => Record<string, string>;
  /** NATs per group at creation (0: the test launches them itself). */
  capacity?: number;
}

export async function buildWorld(clients: AwsClients, options: WorldOptions): Promise<MotoWorld> {
  const { autoScaling } = clients;
  const network = await createNatNetwork(clients, ZONES, options.prefix);
  const launchTemplateName = `${options.prefix}-nat`;
  await createNatLaunchTemplate(clients, launchTemplateName, network.imageId);
  const vpcId = network.vpcId;
  const zones: MotoZone[] = network.zones.map((z) => ({ ...z, groupName: `${options.prefix}-nat-${z.az}` }));

  for (const zone of zones) {
    const tags = { [DEFAULT_CONFIG.groupTagKey]: 'true', ...options.groupTags?.(zone) };
    const capacity = options.capacity ?? 1;
    await autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: zone.groupName,
        MinSize: capacity,
        MaxSize: 1,
        DesiredCapacity: capacity,
        HealthCheckGracePeriod: 0,
        VPCZoneIdentifier: zone.publicSubnetId,
        LaunchTemplate: { LaunchTemplateName: launchTemplateName },
        Tags: Object.entries(tags).map(
          ([Key, Value]): Tag => ({ Key, Value, ResourceId: zone.groupName, ResourceType: 'auto-scaling-group', PropagateAtLaunch: false }),
        ),
      }),
    );
    // moto reads a 0 at creation as "unset" (300 s); the controller honours the group's own grace
    // period, so set it again, which moto does keep.
    await autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: zone.groupName, HealthCheckGracePeriod: 0 }));
  }
  return { vpcId, launchTemplateName, zones };
}

export interface MotoNat {
  instanceId: string;
  networkInterfaceId: string;
  groupName: string;
  az: string;
}

/** The NATs of the world's groups, in zone order, with their primary ENIs. */
export async function listNats(clients: AwsClients, world: MotoWorld): Promise<MotoNat[]> {
  const groups = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: world.zones.map((z) => z.groupName) }));
  const members = (groups.AutoScalingGroups ?? []).flatMap((g) =>
    (g.Instances ?? []).map((i) => ({ instanceId: i.InstanceId!, groupName: g.AutoScalingGroupName!, az: i.AvailabilityZone! })),
  );
  if (members.length === 0) return [];
  const described = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: members.map((m) => m.instanceId) }));
  const eni = new Map(
    (described.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId!, i.NetworkInterfaces?.[0]?.NetworkInterfaceId ?? '']),
  );
  const order = (az: string) => ZONES.indexOf(az as (typeof ZONES)[number]);
  return members.map((m) => ({ ...m, networkInterfaceId: eni.get(m.instanceId)! })).sort((a, b) => order(a.az) - order(b.az));
}

/** Healthy heartbeats every 10 s over [from, to], as the agent publishes them (high resolution). */
export async function putHeartbeats(clients: AwsClients, nats: MotoNat[], from: Date, to: Date, value = 1, table?: string): Promise<void> {
  const beats: Beat[] = [];
  for (const nat of nats) {
    for (let t = to.getTime(); t >= from.getTime(); t -= DEFAULT_CONFIG.heartbeatPeriodSeconds * 1000) {
      beats.push({ groupName: nat.groupName, instanceId: nat.instanceId, at: new Date(t), value });
    }
  }
  await putBeats(clients, beats, table);
}

/** The ENI each private table's 0.0.0.0/0 route points at (undefined: no default route). */
export async function defaultRoutes(clients: AwsClients, world: MotoWorld): Promise<Record<string, string | undefined>> {
  const tables = await clients.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: world.zones.map((z) => z.routeTableId) }));
  return Object.fromEntries(
    (tables.RouteTables ?? []).map((t) => [
      t.RouteTableId!,
      t.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.NetworkInterfaceId,
    ]),
  );
}

/** Whole seconds: CloudWatch and moto keep heartbeats at second precision. */
export function wholeSecond(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}
