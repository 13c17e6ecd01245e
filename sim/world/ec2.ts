/**
 * EC2 as natbeat sees it: instances with their primary ENI and source/dest check, extra ENIs,
 * subnets, route tables whose default route goes blackhole when its target is gone, and Elastic
 * IPs. Only the commands natbeat (and the baselines' boot scripts) call are implemented, with
 * the error codes the real API returns; data-plane state (does this NAT forward?) lives here too.
 */
import { awsError } from './errors';
import { IdFactory, type Input, type WorldContext } from './context';
import { describeAddresses, describeInstances, describeRouteTables, describeSubnets } from './ec2-describe';

export type InstanceState = 'pending' | 'running' | 'shutting-down' | 'terminated';

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
  /** Primary private IPv4 address (where its peer responder listens). */
  privateIp: string;
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
      privateIp: `10.0.${[...this.subnets.keys()].indexOf(subnetId)}.${10 + this.instances.size}`,
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
        return describeRouteTables(this, input);
      case 'DescribeSubnets':
        return describeSubnets(this, input);
      case 'DescribeInstances':
        return describeInstances(this, input);
      case 'DescribeAddresses':
        return describeAddresses(this, input);
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
