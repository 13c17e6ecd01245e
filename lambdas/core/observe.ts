/**
 * observe(): reads everything decide() needs in as few, parallel AWS calls as possible.
 *   layer 1: managed groups ‖ private route tables
 *   layer 2: instances ‖ subnets (for AZs and VPCs) ‖ the report log (heartbeats, witnesses) ‖ pinned Elastic IPs
 * A read that fails for some groups removes exactly those groups (and their VPCs' routes) from
 * this run; a read nothing can be decided without (groups, route tables, subnets) throws.
 */
import { paginateDescribeAutoScalingGroups, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import {
  DescribeAddressesCommand,
  paginateDescribeInstances,
  paginateDescribeRouteTables,
  paginateDescribeSubnets,
  type Instance,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { HANDOVER_TAG_KEY, parseHandoverTag } from '../../common/handover';
import type { AwsClients } from './clients';
import type { ControllerConfig } from './config';
import { heartbeatLookbackSeconds, overdueAfterMs } from './assess';
import type { DecideConfig } from './decide';
import { ObserveError, awsErrorCode, errorMessage } from './errors';
import { readReportLog, type ReportLog } from './observe-report-log';
import { findFormerNats } from './observe-route-owners';
import { WITNESS_WINDOW_SECONDS } from './witness';
import {
  DEFAULT_ROUTE_CIDR,
  type ElasticIpAssociation,
  type ManagedGroup,
  type NatInstance,
  type ObservationFailure,
  type PrivateRouteTable,
  type Snapshot,
} from './types';

/** Ids per DescribeInstances / filter values per Describe* filter: kept well inside EC2's limits. */
const IDS_PER_CALL = 200;
/** DescribeAutoScalingGroups: MaxRecords ≤ 100; names per call likewise. */
const GROUPS_PER_CALL = 100;

// What decide needs (the heartbeat window) plus where to look.
type ObserveConfig = DecideConfig &
  Pick<ControllerConfig, 'groupTagKey' | 'groupNames' | 'routeTableTag' | 'reportTable' | 'elasticIps' | 'elasticIpTagPrefix'>;

export async function observe(clients: AwsClients, config: ObserveConfig, now: Date): Promise<Snapshot> {
  const failures: ObservationFailure[] = [];
  const [rawGroups, rawTables] = await Promise.all([
    required('auto-scaling-groups', () => listManagedGroups(clients, config)),
    required('route-tables', () => listPrivateRouteTables(clients, config)),
  ]);

  const groupSubnetIds = rawGroups.flatMap((g) => splitSubnets(g.VPCZoneIdentifier));
  const tableSubnetIds = rawTables.flatMap((t) => (t.Associations ?? []).flatMap((a) => (a.SubnetId ? [a.SubnetId] : [])));

  const [subnets, instancesResult, reports, addresses, formerNats] = await Promise.all([
    required('subnets', () => describeSubnets(clients, unique([...groupSubnetIds, ...tableSubnetIds]))),
    describeInstancesByGroup(clients, rawGroups),
    readReports(clients, config, rawGroups, now).catch((error: unknown) => {
      failures.push({ scope: 'heartbeats', message: `${awsErrorCode(error)}: ${errorMessage(error)}` });
      return undefined;
    }),
    readElasticIps(clients, config, rawGroups).catch((error: unknown) => {
      failures.push({ scope: 'elastic-ips', message: `${awsErrorCode(error)}: ${errorMessage(error)}` });
      return undefined;
    }),
    findFormerNats(clients, rawGroups, rawTables, failures),
  ]);
  failures.push(...instancesResult.failures);

  const groups: ManagedGroup[] = [];
  const unobservedVpcIds = new Set<string>();
  for (const raw of rawGroups) {
    const name = raw.AutoScalingGroupName!;
    const vpcIds = unique(splitSubnets(raw.VPCZoneIdentifier).flatMap((id) => subnets.get(id)?.vpcId ?? []));
    if (instancesResult.failedGroups.has(name)) {
      vpcIds.forEach((v) => unobservedVpcIds.add(v));
      continue;
    }
    groups.push({
      name,
      healthCheckGracePeriodSeconds: raw.HealthCheckGracePeriod ?? 0,
      vpcIds,
      instances: (raw.Instances ?? []).map((i): NatInstance => {
        const ec2 = instancesResult.instances.get(i.InstanceId!);
        const primary = ec2?.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
        return {
          instanceId: i.InstanceId!,
          groupName: name,
          availabilityZone: i.AvailabilityZone ?? ec2?.Placement?.AvailabilityZone ?? 'unknown',
          lifecycleState: i.LifecycleState ?? 'unknown',
          healthStatus: i.HealthStatus ?? 'unknown',
          ec2State: ec2?.State?.Name,
          launchTime: ec2?.LaunchTime,
          vpcId: ec2?.VpcId ?? vpcIds[0],
          networkInterfaceId: primary?.NetworkInterfaceId ?? ec2?.NetworkInterfaces?.[0]?.NetworkInterfaceId,
          sourceDestCheck: ec2?.SourceDestCheck,
          privateIpAddress: ec2?.PrivateIpAddress,
          handoverFrom: handoverTagOf(ec2?.Tags),
        };
      }),
      // Without a reliable view of current associations, pinning could steal an address.
      elasticIps: addresses === undefined ? {} : pinnedElasticIps(raw, config),
    });
  }

  const managedVpcs = new Set(groups.flatMap((g) => g.vpcIds));
  const routeTables: PrivateRouteTable[] = rawTables
    .filter((t) => t.VpcId && (managedVpcs.has(t.VpcId) || unobservedVpcIds.has(t.VpcId)))
    .map((t) => toPrivateRouteTable(t, subnets));

  return {
    observedAt: now,
    groups,
    heartbeats: reports?.heartbeats ?? new Map(),
    heartbeatsObserved: reports !== undefined,
    witnesses: reports?.witnesses ?? new Map(),
    routeTables,
    unobservedVpcIds: [...unobservedVpcIds].sort(),
    elasticIps: addresses ?? [],
    formerNatIds: formerNats.former,
    unresolvedTargetIds: formerNats.unresolved,
    failures,
  };
}


async function required<T>(scope: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new ObserveError(`could not read ${scope}: ${awsErrorCode(error)}: ${errorMessage(error)}`, { scope }, { cause: error });
  }
}

async function listManagedGroups(clients: AwsClients, config: ObserveConfig): Promise<AutoScalingGroup[]> {
  const requests =
    config.groupNames.length > 0
      ? chunk(config.groupNames, GROUPS_PER_CALL).map((names) => ({ AutoScalingGroupNames: names, MaxRecords: GROUPS_PER_CALL }))
      : [{ Filters: [{ Name: `tag:${config.groupTagKey}`, Values: ['true'] }], MaxRecords: GROUPS_PER_CALL }];
  const pages = await Promise.all(
    requests.map((input) => collect(paginateDescribeAutoScalingGroups({ client: clients.autoScaling }, input), (p) => p.AutoScalingGroups)),
  );
  return pages.flat().filter((g) => g.AutoScalingGroupName);
}

async function listPrivateRouteTables(clients: AwsClients, config: ObserveConfig): Promise<RouteTable[]> {
  return collect(
    paginateDescribeRouteTables(
      { client: clients.ec2 },
      { Filters: [{ Name: `tag:${config.routeTableTag.key}`, Values: [config.routeTableTag.value] }], MaxResults: 100 },
    ),
    (p) => p.RouteTables,
  );
}

interface SubnetInfo {
  vpcId?: string;
  availabilityZone?: string;
}

async function describeSubnets(clients: AwsClients, subnetIds: string[]): Promise<Map<string, SubnetInfo>> {
  // A subnet-id filter (not SubnetIds) so one deleted subnet does not fail the whole call.
  const pages = await Promise.all(
    chunk(subnetIds, IDS_PER_CALL).map((ids) =>
      collect(paginateDescribeSubnets({ client: clients.ec2 }, { Filters: [{ Name: 'subnet-id', Values: ids }] }), (p) => p.Subnets),
    ),
  );
  return new Map(pages.flat().map((s) => [s.SubnetId!, { vpcId: s.VpcId, availabilityZone: s.AvailabilityZone }]));
}

async function describeInstancesByGroup(clients: AwsClients, groups: AutoScalingGroup[]) {
  const instances = new Map<string, Instance>();
  const failedGroups = new Set<string>();
  const failures: ObservationFailure[] = [];
  // Each call carries whole groups where it can, so a failed call fails only the groups it served.
  const batches: { ids: string[]; groups: Set<string> }[] = [];
  for (const group of groups) {
    const ids = (group.Instances ?? []).flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
    for (const part of chunk(ids, IDS_PER_CALL)) {
      let batch = batches.at(-1);
      if (!batch || batch.ids.length + part.length > IDS_PER_CALL) {
        batch = { ids: [], groups: new Set() };
        batches.push(batch);
      }
      batch.ids.push(...part);
      batch.groups.add(group.AutoScalingGroupName!);
    }
  }
  await Promise.all(
    batches.map(async (batch) => {
      try {
        // An instance-id filter: a just-terminated id is simply absent instead of failing the call.
        const reservations = await collect(
          paginateDescribeInstances({ client: clients.ec2 }, { Filters: [{ Name: 'instance-id', Values: batch.ids }] }),
          (p) => p.Reservations,
        );
        for (const r of reservations) for (const i of r.Instances ?? []) if (i.InstanceId) instances.set(i.InstanceId, i);
      } catch (error) {
        for (const g of batch.groups) {
          failedGroups.add(g);
          failures.push({ scope: g, message: `DescribeInstances failed: ${awsErrorCode(error)}: ${errorMessage(error)}` });
        }
      }
    }),
  );
  return { instances, failedGroups, failures };
}

// Launching and serving NATs are judged by heartbeats; leaving ones are not worth a query.
const HEARTBEAT_STATES = new Set(['InService', 'Pending', 'Pending:Wait', 'Pending:Proceed']);

function readReports(clients: AwsClients, config: ObserveConfig, groups: AutoScalingGroup[], now: Date): Promise<ReportLog> {
  const instanceIds = groups.flatMap((g) =>
    (g.Instances ?? []).filter((i) => i.InstanceId && HEARTBEAT_STATES.has(i.LifecycleState ?? '')).map((i) => i.InstanceId!),
  );
  const toMs = now.getTime();
  return readReportLog(clients, instanceIds, {
    table: config.reportTable,
    beatsFromMs: toMs - heartbeatLookbackSeconds(config) * 1000,
    witnessesFromMs: toMs - WITNESS_WINDOW_SECONDS * 1000,
    overdueAfterMs: overdueAfterMs(config),
    toMs,
  });
}

/** Pinned allocations of a group: configuration first (group-specific, then `*`), then group tags. */
export function pinnedElasticIps(group: AutoScalingGroup, config: Pick<ObserveConfig, 'elasticIps' | 'elasticIpTagPrefix'>) {
  const pinned: Record<string, string> = {};
  for (const tag of group.Tags ?? []) {
    if (tag.Key?.startsWith(config.elasticIpTagPrefix) && tag.Value) {
      pinned[tag.Key.slice(config.elasticIpTagPrefix.length)] = tag.Value;
    }
  }
  for (const [key, allocationId] of Object.entries(config.elasticIps)) {
    const [groupName, zone] = key.split('/') as [string, string];
    if (groupName === '*' && !(zone in pinned)) pinned[zone] = allocationId;
  }
  for (const [key, allocationId] of Object.entries(config.elasticIps)) {
    const [groupName, zone] = key.split('/') as [string, string];
    if (groupName === group.AutoScalingGroupName) pinned[zone] = allocationId;
  }
  return pinned;
}

async function readElasticIps(
  clients: AwsClients,
  config: ObserveConfig,
  groups: AutoScalingGroup[],
): Promise<ElasticIpAssociation[]> {
  const allocationIds = unique(groups.flatMap((g) => Object.values(pinnedElasticIps(g, config))));
  if (allocationIds.length === 0) return [];
  const pages = await Promise.all(
    chunk(allocationIds, IDS_PER_CALL).map((ids) =>
      clients.ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'allocation-id', Values: ids }] })),
    ),
  );
  return pages
    .flatMap((p) => p.Addresses ?? [])
    .filter((a) => a.AllocationId)
    .map((a) => ({ allocationId: a.AllocationId!, instanceId: a.InstanceId, networkInterfaceId: a.NetworkInterfaceId }));
}

function toPrivateRouteTable(table: RouteTable, subnets: Map<string, SubnetInfo>): PrivateRouteTable {
  const route = table.Routes?.find((r) => r.DestinationCidrBlock === DEFAULT_ROUTE_CIDR);
  return {
    routeTableId: table.RouteTableId!,
    vpcId: table.VpcId!,
    availabilityZones: unique(
      (table.Associations ?? []).flatMap((a) => (a.SubnetId ? (subnets.get(a.SubnetId)?.availabilityZone ?? []) : [])),
    ).sort(),
    defaultRoute: route && {
      instanceId: route.InstanceId,
      networkInterfaceId: route.NetworkInterfaceId,
      natGatewayId: route.NatGatewayId,
      gatewayId: route.GatewayId,
      transitGatewayId: route.TransitGatewayId,
      vpcPeeringConnectionId: route.VpcPeeringConnectionId,
      carrierGatewayId: route.CarrierGatewayId,
      localGatewayId: route.LocalGatewayId,
      coreNetworkArn: route.CoreNetworkArn,
      egressOnlyInternetGatewayId: route.EgressOnlyInternetGatewayId,
      state: route.State,
    },
  };
}

async function collect<P, T>(pages: AsyncIterable<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...(items(page) ?? []));
  return out;
}

function splitSubnets(vpcZoneIdentifier: string | undefined): string[] {
  return (vpcZoneIdentifier ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

/** The instance's valid handover tag (a malformed one is ignored: it hands nothing over). */
function handoverTagOf(tags: { Key?: string; Value?: string }[] | undefined): NatInstance['handoverFrom'] {
  const value = tags?.find((tag) => tag.Key === HANDOVER_TAG_KEY)?.Value;
  return value === undefined ? undefined : parseHandoverTag(value);
}
