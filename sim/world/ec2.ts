/**
 * EC2 as natbeat sees it: instances with their primary ENI and source/dest check, extra ENIs,
 * subnets, route tables whose default route goes blackhole when its target is gone, and Elastic
 * IPs. Only the commands natbeat (and the baselines' boot scripts) call are implemented, with
 * the error codes the real API returns; data-plane state (does this NAT forward?) lives here too.
 */
import { awsError } from './errors';
import { IdFactory, page, type Filter, type Input, type WorldContext } from './context';

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated';
const STATE_CODE: Record<InstanceState, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 };

export interface SimInstance {
  instanceId: string;
  availabilityZone: string;
  subnetId: string;
  vpcId: string;
  state: InstanceState;
  launchTime: number;
  primaryEniId: string;
  tags: Record<string, string>;
  /** Booted and configured as a NAT (forwarding, masquerade). */
  configured: boolean;
  /** The kernel forwards (false: e.g. a FORWARD drop policy or a lost masquerade rule). */
  forwarding: boolean;
  /** Hung: nothing runs (no forwarding, no agent) but EC2 status checks still pass. */
  hung: boolean;
  /** An EC2-visible failure: status checks fail, nothing runs. */
  impairedSince?: number;
}

export interface SimEni {
  networkInterfaceId: string;
  subnetId: string;
  availabilityZone: string;
  attachedTo?: string;
  deviceIndex?: number;
  sourceDestCheck: boolean;
  /** Deleted with its instance (a primary ENI), or kept (a static ENI, fck-nat style). */
  deleteOnTermination: boolean;
}

export interface SimRoute {
  destinationCidrBlock: string;
  networkInterfaceId?: string;
  gatewayId?: string;
}

export interface SimRouteTable {
  routeTableId: string;
  vpcId: string;
  subnetIds: string[];
  tags: Record<string, string>;
  routes: SimRoute[];
  /**
   * While a written default route propagates (routePropagationSeconds), traffic still follows the
   * route that was in effect before the write, until `until`.
   */
  propagating?: { previous: SimRoute | undefined; until: number };
}

export interface SimSubnet {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
}

export interface SimAddress {
  allocationId: string;
  publicIp: string;
  networkInterfaceId?: string;
}

export class Ec2World {
  readonly instances = new Map<string, SimInstance>();
  readonly enis = new Map<string, SimEni>();
  readonly subnets = new Map<string, SimSubnet>();
  readonly routeTables = new Map<string, SimRouteTable>();
  readonly addresses = new Map<string, SimAddress>();
  /** Called whenever a default route is written, with who wrote it. */
  onRouteWritten?: (table: SimRouteTable, route: SimRoute) => void;
  /** Called when traffic starts following a written default route (after the propagation delay). */
  onRouteEffective?: (table: SimRouteTable, previous: SimRoute | undefined, route: SimRoute) => void;

  constructor(
    private readonly ctx: WorldContext,
    readonly ids: IdFactory,
  ) {}

  // ---- set-up and data plane (not API calls) -------------------------------------------------

  addSubnet(vpcId: string, availabilityZone: string): SimSubnet {
    const subnet = { subnetId: this.ids.next('subnet'), vpcId, availabilityZone };
    this.subnets.set(subnet.subnetId, subnet);
    return subnet;
  }

  addRouteTable(vpcId: string, subnetIds: string[], tags: Record<string, string>): SimRouteTable {
    const table: SimRouteTable = { routeTableId: this.ids.next('rtb'), vpcId, subnetIds, tags, routes: [{ destinationCidrBlock: '10.0.0.0/16', gatewayId: 'local' }] };
    this.routeTables.set(table.routeTableId, table);
    return table;
  }

  addEni(subnetId: string, deleteOnTermination: boolean, sourceDestCheck = true): SimEni {
    const subnet = this.subnets.get(subnetId)!;
    const eni: SimEni = { networkInterfaceId: this.ids.next('eni'), subnetId, availabilityZone: subnet.availabilityZone, sourceDestCheck, deleteOnTermination };
    this.enis.set(eni.networkInterfaceId, eni);
    return eni;
  }

  runInstance(subnetId: string, tags: Record<string, string>): SimInstance {
    const subnet = this.subnets.get(subnetId)!;
    const eni = this.addEni(subnetId, true);
    const instance: SimInstance = {
      instanceId: this.ids.next('i'),
      availabilityZone: subnet.availabilityZone,
      subnetId,
      vpcId: subnet.vpcId,
      state: 'pending',
      launchTime: this.ctx.clock.now(),
      primaryEniId: eni.networkInterfaceId,
      tags,
      configured: false,
      forwarding: true,
      hung: false,
    };
    eni.attachedTo = instance.instanceId;
    eni.deviceIndex = 0;
    this.instances.set(instance.instanceId, instance);
    return instance;
  }

  /** shutting-down now, terminated (primary ENI deleted, extra ENIs detached) after the shutdown time. */
  terminate(instanceId: string, onTerminated?: () => void): void {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.state === 'terminated' || instance.state === 'shutting-down') return;
    instance.state = 'shutting-down';
    instance.configured = false;
    this.ctx.clock.after(this.ctx.params.shutdownSeconds * 1000, () => {
      instance.state = 'terminated';
      for (const eni of [...this.enis.values()].filter((e) => e.attachedTo === instanceId)) {
        if (eni.deleteOnTermination) this.enis.delete(eni.networkInterfaceId);
        else {
          eni.attachedTo = undefined;
          eni.deviceIndex = undefined;
        }
      }
      onTerminated?.();
    });
  }

  /** Attaches an ENI at the next free device index; false if it is attached elsewhere. */
  attachEni(eniId: string, instanceId: string): boolean {
    const eni = this.enis.get(eniId);
    if (!eni || eni.attachedTo) return false;
    const used = [...this.enis.values()].filter((e) => e.attachedTo === instanceId).length;
    eni.attachedTo = instanceId;
    eni.deviceIndex = used;
    return true;
  }

  /** Does traffic sent to this ENI reach the internet through a NAT? */
  eniForwards(eniId: string | undefined): boolean {
    const eni = eniId ? this.enis.get(eniId) : undefined;
    const instance = eni?.attachedTo ? this.instances.get(eni.attachedTo) : undefined;
    if (!eni || !instance || eni.sourceDestCheck) return false;
    return this.natRoutes(instance);
  }

  /** The NAT's own data plane: what the agent's forward-path probe sees (source/dest check is the ENI's business). */
  natRoutes(instance: SimInstance): boolean {
    return (
      instance.state === 'running' &&
      instance.configured &&
      instance.forwarding &&
      !instance.hung &&
      instance.impairedSince === undefined &&
      !this.ctx.zonesDown.has(instance.availabilityZone)
    );
  }

  /** The default route as written (the control plane: what DescribeRouteTables shows). */
  defaultRoute(table: SimRouteTable): SimRoute | undefined {
    return table.routes.find((r) => r.destinationCidrBlock === '0.0.0.0/0');
  }

  /** The default route traffic follows now (the data plane: the written one once it has propagated). */
  effectiveDefaultRoute(table: SimRouteTable): SimRoute | undefined {
    return table.propagating ? table.propagating.previous : this.defaultRoute(table);
  }

  /** active while the target ENI is attached to a live instance, blackhole otherwise. */
  routeState(route: SimRoute): 'active' | 'blackhole' {
    if (route.gatewayId) return 'active';
    const eni = route.networkInterfaceId ? this.enis.get(route.networkInterfaceId) : undefined;
    const instance = eni?.attachedTo ? this.instances.get(eni.attachedTo) : undefined;
    return instance && instance.state !== 'terminated' ? 'active' : 'blackhole';
  }

  routeTargetInstance(route: SimRoute | undefined): SimInstance | undefined {
    const eni = route?.networkInterfaceId ? this.enis.get(route.networkInterfaceId) : undefined;
    return eni?.attachedTo ? this.instances.get(eni.attachedTo) : undefined;
  }

  // ---- the API --------------------------------------------------------------------------------

  handle(command: string, input: Input): unknown {
    switch (command) {
      case 'DescribeRouteTables':
        return this.describeRouteTables(input);
      case 'DescribeSubnets':
        return this.describeSubnets(input);
      case 'DescribeInstances':
        return this.describeInstances(input);
      case 'DescribeAddresses':
        return this.describeAddresses(input);
      case 'ModifyInstanceAttribute':
        return this.modifyInstanceAttribute(input);
      case 'AssociateAddress':
        return this.associateAddress(input);
      case 'CreateRoute':
        return this.writeRoute(input, 'create');
      case 'ReplaceRoute':
        return this.writeRoute(input, 'replace');
      default:
        throw awsError('ec2', 'InvalidAction', `The action ${command} is not valid for this web service.`);
    }
  }

  private describeRouteTables(input: Input) {
    if (input.MaxResults !== undefined && (input.MaxResults < 5 || input.MaxResults > 100)) {
      throw awsError('ec2', 'InvalidParameterValue', `Value ( ${input.MaxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 100.`);
    }
    const matches = [...this.routeTables.values()].filter(
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
          const instance = this.routeTargetInstance(r);
          return {
            DestinationCidrBlock: r.destinationCidrBlock,
            GatewayId: r.gatewayId,
            NetworkInterfaceId: r.networkInterfaceId,
            InstanceId: instance?.instanceId,
            InstanceOwnerId: instance ? '123456789012' : undefined,
            Origin: r.gatewayId === 'local' ? 'CreateRouteTable' : 'CreateRoute',
            State: this.routeState(r),
          };
        }),
        Tags: toTags(t.tags),
      })),
      NextToken: nextToken,
    };
  }

  private describeSubnets(input: Input) {
    const matches = [...this.subnets.values()].filter(
      (s) =>
        (!input.SubnetIds || input.SubnetIds.includes(s.subnetId)) &&
        matchFilters(input.Filters, (name) => (name === 'subnet-id' ? [s.subnetId] : name === 'vpc-id' ? [s.vpcId] : name === 'availability-zone' ? [s.availabilityZone] : undefined)),
    );
    if (input.SubnetIds) {
      const missing = (input.SubnetIds as string[]).find((id) => !this.subnets.has(id));
      if (missing) throw awsError('ec2', 'InvalidSubnetID.NotFound', `The subnet ID '${missing}' does not exist`);
    }
    const { items, nextToken } = page(matches, input.MaxResults, input.NextToken);
    return {
      Subnets: items.map((s) => ({ SubnetId: s.subnetId, VpcId: s.vpcId, AvailabilityZone: s.availabilityZone, State: 'available' })),
      NextToken: nextToken,
    };
  }

  private describeInstances(input: Input) {
    if (input.InstanceIds) {
      const missing = (input.InstanceIds as string[]).find((id) => !this.instances.has(id));
      if (missing) throw awsError('ec2', 'InvalidInstanceID.NotFound', `The instance ID '${missing}' does not exist`);
    }
    const matches = [...this.instances.values()].filter(
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
      Reservations: items.map((i) => ({ ReservationId: `r-${i.instanceId.slice(2)}`, OwnerId: '123456789012', Instances: [this.instanceView(i)] })),
      NextToken: nextToken,
    };
  }

  private instanceView(i: SimInstance) {
    const enis = [...this.enis.values()].filter((e) => e.attachedTo === i.instanceId).sort((a, b) => (a.deviceIndex ?? 0) - (b.deviceIndex ?? 0));
    const primary = this.enis.get(i.primaryEniId);
    return {
      InstanceId: i.instanceId,
      State: { Name: i.state, Code: STATE_CODE[i.state] },
      LaunchTime: new Date(i.launchTime),
      VpcId: i.state === 'terminated' ? undefined : i.vpcId,
      SubnetId: i.state === 'terminated' ? undefined : i.subnetId,
      Placement: { AvailabilityZone: i.availabilityZone },
      SourceDestCheck: i.state === 'terminated' ? undefined : (primary?.sourceDestCheck ?? true),
      NetworkInterfaces: enis.map((e) => ({
        NetworkInterfaceId: e.networkInterfaceId,
        SubnetId: e.subnetId,
        SourceDestCheck: e.sourceDestCheck,
        Attachment: { DeviceIndex: e.deviceIndex, Status: 'attached', DeleteOnTermination: e.deleteOnTermination },
      })),
      Tags: toTags(i.tags),
    };
  }

  private describeAddresses(input: Input) {
    const matches = [...this.addresses.values()].filter(
      (a) =>
        (!input.AllocationIds || input.AllocationIds.includes(a.allocationId)) &&
        matchFilters(input.Filters, (name) => (name === 'allocation-id' ? [a.allocationId] : undefined)),
    );
    return {
      Addresses: matches.map((a) => {
        const eni = a.networkInterfaceId ? this.enis.get(a.networkInterfaceId) : undefined;
        return { AllocationId: a.allocationId, PublicIp: a.publicIp, Domain: 'vpc', NetworkInterfaceId: eni?.networkInterfaceId, InstanceId: eni?.attachedTo };
      }),
    };
  }

  private liveInstance(instanceId: unknown): SimInstance {
    const instance = typeof instanceId === 'string' ? this.instances.get(instanceId) : undefined;
    if (!instance) throw awsError('ec2', 'InvalidInstanceID.NotFound', `The instance ID '${String(instanceId)}' does not exist`);
    if (instance.state === 'terminated' || instance.state === 'shutting-down') {
      throw awsError('ec2', 'IncorrectInstanceState', `The instance '${instance.instanceId}' is not in a state from which it can be modified.`);
    }
    return instance;
  }

  private modifyInstanceAttribute(input: Input) {
    const instance = this.liveInstance(input.InstanceId);
    if (input.SourceDestCheck?.Value === undefined) throw awsError('ec2', 'MissingParameter', 'No attributes specified.');
    this.enis.get(instance.primaryEniId)!.sourceDestCheck = Boolean(input.SourceDestCheck.Value);
    return {};
  }

  private associateAddress(input: Input) {
    const address = this.addresses.get(input.AllocationId);
    if (!address) throw awsError('ec2', 'InvalidAllocationID.NotFound', `The allocation ID '${String(input.AllocationId)}' does not exist`);
    const eni = this.enis.get(input.NetworkInterfaceId);
    if (!eni) throw awsError('ec2', 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${String(input.NetworkInterfaceId)}' does not exist`);
    if (address.networkInterfaceId && address.networkInterfaceId !== eni.networkInterfaceId && !input.AllowReassociation) {
      throw awsError('ec2', 'Resource.AlreadyAssociated', `resource ${address.allocationId} is already associated`);
    }
    address.networkInterfaceId = eni.networkInterfaceId;
    return { AssociationId: `eipassoc-${address.allocationId.slice(9)}` };
  }

  private writeRoute(input: Input, mode: 'create' | 'replace') {
    const table = this.routeTables.get(input.RouteTableId);
    if (!table) throw awsError('ec2', 'InvalidRouteTableID.NotFound', `The routeTable ID '${String(input.RouteTableId)}' does not exist`);
    const cidr = input.DestinationCidrBlock as string | undefined;
    if (!cidr) throw awsError('ec2', 'MissingParameter', 'The request must contain the parameter destinationCidrBlock');
    const eniId = input.NetworkInterfaceId as string | undefined;
    if (!eniId || !this.enis.has(eniId)) {
      throw awsError('ec2', 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${String(eniId)}' does not exist`);
    }
    const existing = table.routes.find((r) => r.destinationCidrBlock === cidr);
    if (mode === 'create' && existing) {
      // Re-creating the very same route is accepted; anything else already there is not.
      if (existing.networkInterfaceId === eniId) return { Return: true };
      throw awsError('ec2', 'RouteAlreadyExists', `The route identified by ${cidr} already exists.`);
    }
    if (mode === 'replace' && !existing) {
      throw awsError('ec2', 'InvalidRoute.NotFound', `There is no route defined for '${cidr}' in the route table. Use CreateRoute instead.`);
    }
    const route: SimRoute = { destinationCidrBlock: cidr, networkInterfaceId: eniId };
    const inEffect = this.effectiveDefaultRoute(table);
    table.routes = [...table.routes.filter((r) => r.destinationCidrBlock !== cidr), route];
    this.onRouteWritten?.(table, route);
    if (cidr === '0.0.0.0/0') this.propagate(table, inEffect, route);
    return mode === 'create' ? { Return: true } : {};
  }

  /**
   * Traffic follows a written default route routePropagationSeconds later; a second write while
   * one propagates restarts the wait (the data plane keeps the route it had).
   */
  private propagate(table: SimRouteTable, inEffect: SimRoute | undefined, route: SimRoute): void {
    const delayMs = this.ctx.params.routePropagationSeconds * 1000;
    if (delayMs <= 0) {
      this.onRouteEffective?.(table, inEffect, route);
      return;
    }
    const until = this.ctx.clock.now() + delayMs;
    const previous = table.propagating ? table.propagating.previous : inEffect;
    table.propagating = { previous, until };
    this.ctx.clock.at(until, () => {
      if (table.propagating?.until !== until) return;
      table.propagating = undefined;
      this.onRouteEffective?.(table, previous, route);
    });
  }
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
