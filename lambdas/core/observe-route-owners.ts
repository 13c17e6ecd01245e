/**
 * Whose are the default routes that point at an instance or interface no managed group lists?
 * Ours to fix when a managed group launched the instance (Auto Scaling tags every instance it
 * launches with its group's name: a former NAT of this deployment), or when the target is dead
 * (the instance terminated, the interface deleted or detached: AWS reports such a route as a
 * blackhole once it notices). Any other running instance or attached interface is someone
 * else's. Asked only when such a route exists, which is rare, so a healthy fleet pays nothing.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { paginateDescribeInstances, paginateDescribeNetworkInterfaces, type RouteTable } from '@aws-sdk/client-ec2';
import type { AwsClients } from './clients';
import { awsErrorCode, errorMessage } from './errors';
import { DEFAULT_ROUTE_CIDR, type ObservationFailure } from './types';

/** The tag Auto Scaling puts on every instance it launches. */
const AUTO_SCALING_GROUP_TAG = 'aws:autoscaling:groupName';
const DEAD_STATES = new Set(['shutting-down', 'terminated']);
const IDS_PER_CALL = 200;

export interface RouteOwners {
  /** Instance and interface ids whose routes are ours to fix. */
  former: string[];
  /** Ids whose owner could not be read in this run. */
  unresolved: string[];
}

export async function findFormerNats(
  clients: AwsClients,
  groups: AutoScalingGroup[],
  tables: RouteTable[],
  failures: ObservationFailure[],
): Promise<RouteOwners> {
  const listed = new Set(groups.flatMap((g) => (g.Instances ?? []).flatMap((i) => (i.InstanceId ? [i.InstanceId] : []))));
  const routes = tables.flatMap((t) => (t.Routes ?? []).filter((r) => r.DestinationCidrBlock === DEFAULT_ROUTE_CIDR && r.State !== 'blackhole'));
  const instanceIds = new Set(routes.flatMap((r) => (r.InstanceId && !listed.has(r.InstanceId) ? [r.InstanceId] : [])));
  // An interface without an instance id: the instance behind it (if any) is found through it.
  const interfaceIds = new Set(routes.flatMap((r) => (!r.InstanceId && r.NetworkInterfaceId ? [r.NetworkInterfaceId] : [])));
  if (instanceIds.size === 0 && interfaceIds.size === 0) return { former: [], unresolved: [] };
  const groupNames = new Set(groups.map((g) => g.AutoScalingGroupName));
  try {
    const former: string[] = [];
    const instanceOfInterface = new Map<string, string>();
    for (const eni of await describe(interfaceIds, (ids) =>
      pages(paginateDescribeNetworkInterfaces({ client: clients.ec2 }, { Filters: [{ Name: 'network-interface-id', Values: ids }] }), (p) => p.NetworkInterfaces),
    )) {
      const attachedTo = eni.Attachment?.InstanceId;
      if (attachedTo && !listed.has(attachedTo)) {
        instanceOfInterface.set(eni.NetworkInterfaceId!, attachedTo);
        instanceIds.add(attachedTo);
      } else if (!eni.Attachment) {
        former.push(eni.NetworkInterfaceId!); // detached: the route leads nowhere
      }
      interfaceIds.delete(eni.NetworkInterfaceId!);
    }
    former.push(...interfaceIds); // deleted
    const ours = new Set(
      (
        await describe(instanceIds, (ids) =>
          pages(paginateDescribeInstances({ client: clients.ec2 }, { Filters: [{ Name: 'instance-id', Values: ids }] }), (p) =>
            (p.Reservations ?? []).flatMap((r) => r.Instances ?? []),
          ),
        )
      )
        .filter((i) => DEAD_STATES.has(i.State?.Name ?? '') || i.Tags?.some((t) => t.Key === AUTO_SCALING_GROUP_TAG && groupNames.has(t.Value)))
        .map((i) => i.InstanceId!),
    );
    former.push(...ours, ...[...instanceOfInterface].filter(([, instanceId]) => ours.has(instanceId)).map(([eni]) => eni));
    return { former: former.sort(), unresolved: [] };
  } catch (error) {
    failures.push({ scope: 'route-targets', message: `could not read the owners of route targets: ${awsErrorCode(error)}: ${errorMessage(error)}` });
    return { former: [], unresolved: [...instanceIds, ...interfaceIds].sort() };
  }
}

async function describe<T>(ids: Set<string>, read: (ids: string[]) => Promise<T[]>): Promise<T[]> {
  const all = [...ids];
  const out: T[] = [];
  for (let i = 0; i < all.length; i += IDS_PER_CALL) out.push(...(await read(all.slice(i, i + IDS_PER_CALL))));
  return out;
}

async function pages<P, T>(iterator: AsyncIterable<P>, items: (page: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  for await (const page of iterator) out.push(...(items(page) ?? []));
  return out;
}
