/**
 * EC2's Describe* calls over the simulated EC2 state: filters, paging and the shapes the real API
 * returns, with its error codes.
 */
import { awsError } from './errors';
import { page, type Filter, type Input } from './context';
import type { Ec2World, SimInstance } from './ec2';

const STATE_CODE: Record<SimInstance['state'], number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 };

export function describeRouteTables(ec2: Ec2World, input: Input) {
  if (input.MaxResults !== undefined && (input.MaxResults < 5 || input.MaxResults > 100)) {
    throw awsError('ec2', 'InvalidParameterValue', `Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 100.`);
  }
  const matches = [...ec2.routeTables.values()].filter(
    (t) =>
      (!input.RouteTableIds || input.RouteTableIds.includes(t.routeTableId)) &&
      matchFilters(input.Filters, (name) => {
        if (name === 'vpc-id') return [t.vpcId];
        if (name === 'route-table-id') return [t.routeTableId];
        if (name === 'association.subnet-id') return t.subnetIds;
        return tagValues(name, t.tags);
      }),
  );
  const { items, nextToken } = page(matches, input.MaxResults, input.NextToken);
  return {
    RouteTables: items.map((t) => ({
      RouteTableId: t.routeTableId,
      VpcId: t.vpcId,
      Associations: t.subnetIds.map((s, k) => ({ RouteTableAssociationId: `rtbassoc-${t.routeTableId.slice(4)}${k}`, RouteTableId: t.routeTableId, SubnetId: s, Main: false })),
      Routes: t.routes.map((r) => {
        const instance = ec2.routeTargetInstance(r);
        return {
          DestinationCidrBlock: r.destinationCidrBlock,
          GatewayId: r.gatewayId,
          NetworkInterfaceId: r.networkInterfaceId,
          InstanceId: instance?.instanceId,
          InstanceOwnerId: instance ? '123456789012' : undefined,
          Origin: r.gatewayId === 'local' ? 'CreateRouteTable' : 'CreateRoute',
          State: ec2.routeState(r),
        };
      }),
      Tags: toTags(t.tags),
    })),
    NextToken: nextToken,
  };
}

export function describeSubnets(ec2: Ec2World, input: Input) {
  const matches = [...ec2.subnets.values()].filter(
    (s) =>
      (!input.SubnetIds || input.SubnetIds.includes(s.subnetId)) &&
      matchFilters(input.Filters, (name) => (name === 'subnet-id' ? [s.subnetId] : name === 'vpc-id' ? [s.vpcId] : name === 'availability-zone' ? [s.availabilityZone] : undefined)),
  );
  if (input.SubnetIds) {
    const missing = (input.SubnetIds as string[]).find((id) => !ec2.subnets.has(id));
    if (missing) throw awsError('ec2', 'InvalidSubnetID.NotFound', `The subnet ID '${missing}' does not exist`);
  }
  const { items, nextToken } = page(matches, input.MaxResults, input.NextToken);
  return {
    Subnets: items.map((s) => ({ SubnetId: s.subnetId, VpcId: s.vpcId, AvailabilityZone: s.availabilityZone, State: 'available' })),
    NextToken: nextToken,
  };
}

export function describeInstances(ec2: Ec2World, input: Input) {
  if (input.InstanceIds) {
    const missing = (input.InstanceIds as string[]).find((id) => !ec2.instances.has(id));
    if (missing) throw awsError('ec2', 'InvalidInstanceID.NotFound', `The instance ID '${missing}' does not exist`);
  }
  const matches = [...ec2.instances.values()].filter(
    (i) =>
      (!input.InstanceIds || input.InstanceIds.includes(i.instanceId)) &&
      matchFilters(input.Filters, (name) => {
        if (name === 'instance-id') return [i.instanceId];
        if (name === 'vpc-id') return [i.vpcId];
        if (name === 'availability-zone') return [i.availabilityZone];
        if (name === 'instance-state-name') return [i.state];
        return tagValues(name, i.tags);
      }),
  );
  const { items, nextToken } = page(matches, input.MaxResults, input.NextToken);
  return {
    Reservations: items.map((i) => ({ ReservationId: `r-${i.instanceId.slice(2)}`, OwnerId: '123456789012', Instances: [instanceView(ec2, i)] })),
    NextToken: nextToken,
  };
}

function instanceView(ec2: Ec2World, i: SimInstance) {
  const enis = [...ec2.enis.values()].filter((e) => e.attachedTo === i.instanceId).sort((a, b) => (a.deviceIndex ?? 0) - (b.deviceIndex ?? 0));
  const primary = ec2.enis.get(i.primaryEniId);
  return {
    InstanceId: i.instanceId,
    State: { Name: i.state, Code: STATE_CODE[i.state] },
    LaunchTime: new Date(i.launchTime),
    VpcId: i.state === 'terminated' ? undefined : i.vpcId,
    SubnetId: i.state === 'terminated' ? undefined : i.subnetId,
    Placement: { AvailabilityZone: i.availabilityZone },
    SourceDestCheck: i.state === 'terminated' ? undefined : (primary?.sourceDestCheck ?? true),
    PrivateIpAddress: i.state === 'terminated' ? undefined : i.privateIp,
    NetworkInterfaces: enis.map((e) => ({
      NetworkInterfaceId: e.networkInterfaceId,
      SubnetId: e.subnetId,
      SourceDestCheck: e.sourceDestCheck,
      Attachment: { DeviceIndex: e.deviceIndex, Status: 'attached', DeleteOnTermination: e.deleteOnTermination },
    })),
    Tags: toTags(i.tags),
  };
}

export function describeAddresses(ec2: Ec2World, input: Input) {
  const matches = [...ec2.addresses.values()].filter(
    (a) =>
      (!input.AllocationIds || input.AllocationIds.includes(a.allocationId)) &&
      matchFilters(input.Filters, (name) => (name === 'allocation-id' ? [a.allocationId] : undefined)),
  );
  return {
    Addresses: matches.map((a) => {
      const eni = a.networkInterfaceId ? ec2.enis.get(a.networkInterfaceId) : undefined;
      return { AllocationId: a.allocationId, PublicIp: a.publicIp, Domain: 'vpc', NetworkInterfaceId: eni?.networkInterfaceId, InstanceId: eni?.attachedTo };
    }),
  };
}

const KNOWN_FILTERS = new Set(['vpc-id', 'route-table-id', 'association.subnet-id', 'subnet-id', 'instance-id', 'availability-zone', 'instance-state-name', 'allocation-id']);

/** EC2 filter semantics: every filter must match (AND), any value of one filter may (OR). */
function matchFilters(filters: Filter[] | undefined, valuesOf: (name: string) => string[] | undefined): boolean {
  for (const filter of filters ?? []) {
    const name = filter.Name ?? '';
    const values = valuesOf(name);
    if (values === undefined) {
      if (!KNOWN_FILTERS.has(name) && !name.startsWith('tag')) throw awsError('ec2', 'InvalidParameterValue', `The filter '${name}' is invalid`);
      return false;
    }
    if (!values.some((v) => (filter.Values ?? []).includes(v))) return false;
  }
  return true;
}

function tagValues(name: string, tags: Record<string, string>): string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = tags[name.slice(4)];
    return value === undefined ? [] : [value];
  }
  if (name === 'tag-key') return Object.keys(tags);
  return undefined;
}

function toTags(tags: Record<string, string>) {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
