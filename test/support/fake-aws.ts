/**
 * An in-memory slice of AWS — just what the controller reads and writes — that answers SDK
 * commands by name with the same shapes, paging and error codes as the real APIs. Tests plug it in
 * with aws-sdk-client-mock (`mockFakeAws`, test/support/aws-mock.ts) or below the SDK's retry layer
 * (`installFakeTransport`), the benchmark with injected latency. Every call is recorded in order.
 */
import { answerReportQuery } from './report-log';

/* eslint-disable @typescript-eslint/no-explicit-any -- inputs arrive as the SDK's untyped command inputs */

export interface FakeNat {
  instanceId: string;
  groupName: string;
  availabilityZone: string;
  vpcId: string;
  subnetId: string;
  networkInterfaceId: string;
  lifecycleState: string;
  healthStatus: string;
  /** undefined: EC2 no longer knows the instance (it is absent from DescribeInstances). */
  ec2State?: string;
  launchTime: Date;
  sourceDestCheck: boolean;
  /** Instance tags (Auto Scaling's `aws:autoscaling:groupName`, …). */
  tags?: Record<string, string>;
}

export interface FakeGroup {
  name: string;
  tags: Record<string, string>;
  subnetIds: string[];
  healthCheckGracePeriod: number;
  instanceIds: string[];
}

export interface FakeRoute {
  NetworkInterfaceId?: string;
  InstanceId?: string;
  NatGatewayId?: string;
  GatewayId?: string;
  TransitGatewayId?: string;
  VpcPeeringConnectionId?: string;
  State?: string;
}

export interface FakeTable {
  routeTableId: string;
  vpcId: string;
  tags: Record<string, string>;
  subnetIds: string[];
  defaultRoute?: FakeRoute;
}

export interface FakeSubnet {
  subnetId: string;
  vpcId: string;
  availabilityZone: string;
}

export interface FakeCall {
  command: string;
  input: any;
}

/** Return an error to make a call fail (before it changes anything), or undefined to let it through. */
export type Fault = (call: FakeCall) => Error | undefined;

/** An error shaped like the SDK's service exceptions: `name` is the AWS error code. */
export function awsError(code: string, message: string, options: { throttling?: boolean; status?: number } = {}): Error {
  return Object.assign(new Error(message), {
    name: code,
    $fault: options.status !== undefined && options.status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: options.status ?? 400, requestId: 'fake-request', attempts: 1, totalRetryDelay: 0 },
    ...(options.throttling ? { $retryable: { throttling: true } } : {}),
  });
}

export const MUTATING_COMMANDS = new Set([
  'CreateRouteCommand',
  'ReplaceRouteCommand',
  'ModifyInstanceAttributeCommand',
  'AssociateAddressCommand',
  'SetInstanceHealthCommand',
  'CompleteLifecycleActionCommand',
]);

export class FakeAws {
  readonly groups = new Map<string, FakeGroup>();
  readonly nats = new Map<string, FakeNat>();
  readonly tables = new Map<string, FakeTable>();
  readonly subnets = new Map<string, FakeSubnet>();
  /** Heartbeat samples by instance id (any order): the report log's beat items. */
  readonly heartbeats = new Map<string, { at: Date; value: number }[]>();
  /** Witness reports by the instance they name (any order): the report log's witness items. */
  readonly witnesses = new Map<string, { witnessId: string; at: Date }[]>();
  /** Elastic IP allocations and what they are associated with. */
  readonly addresses = new Map<string, { instanceId?: string; networkInterfaceId?: string }>();
  readonly calls: FakeCall[] = [];
  readonly faults: Fault[] = [];

  /** Answers one SDK command (`DescribeRouteTablesCommand`, …) with its output. */
  async handle(command: string, input: any): Promise<any> {
    const call = { command, input: structuredClone(input ?? {}) };
    this.calls.push(call);
    for (const fault of this.faults) {
      const error = fault(call);
      if (error) throw error;
    }
    const answer = this.answers[command];
    if (!answer) throw awsError('UnknownOperation', `the fake does not implement ${command}`);
    return { $metadata: { httpStatusCode: 200 }, ...answer(call.input) };
  }

  /** Commands called so far, optionally only those named. */
  commands(filter?: (command: string) => boolean): string[] {
    return this.calls.map((c) => c.command).filter((c) => !filter || filter(c));
  }

  mutatingCalls(): FakeCall[] {
    return this.calls.filter((c) => MUTATING_COMMANDS.has(c.command));
  }

  /** The NAT a table's default route points at (by ENI), if any. */
  routeTargetOf(routeTableId: string): string | undefined {
    const route = this.tables.get(routeTableId)?.defaultRoute;
    if (!route) return undefined;
    return route.InstanceId ?? [...this.nats.values()].find((n) => n.networkInterfaceId === route.NetworkInterfaceId)?.instanceId;
  }

  beat(instanceId: string, at: Date, value = 1): void {
    const series = this.heartbeats.get(instanceId) ?? [];
    series.push({ at, value });
    this.heartbeats.set(instanceId, series);
  }

  /** `witnessId` tells the intake it cannot reach `subjectId`. */
  witness(subjectId: string, witnessId: string, at: Date): void {
    const list = this.witnesses.get(subjectId) ?? [];
    list.push({ witnessId, at });
    this.witnesses.set(subjectId, list);
  }

  private readonly answers: Record<string, (input: any) => object> = {
    DescribeAutoScalingGroupsCommand: (input) => {
      let groups = [...this.groups.values()];
      if (input.AutoScalingGroupNames?.length) groups = groups.filter((g) => input.AutoScalingGroupNames.includes(g.name));
      for (const filter of input.Filters ?? []) {
        const key = String(filter.Name).replace(/^tag:/, '');
        groups = groups.filter((g) => filter.Values.includes(g.tags[key]));
      }
      const { items, next } = page(groups, input.NextToken, input.MaxRecords ?? 50, 100);
      return { AutoScalingGroups: items.map((g) => this.describeGroup(g)), NextToken: next };
    },
    DescribeAutoScalingInstancesCommand: (input) => ({
      AutoScalingInstances: (input.InstanceIds ?? [])
        .flatMap((id: string) => this.nats.get(id) ?? [])
        .map((n: FakeNat) => ({ ...this.describeGroupInstance(n), AutoScalingGroupName: n.groupName })),
    }),
    SetInstanceHealthCommand: (input) => {
      const nat = this.nats.get(input.InstanceId);
      if (!nat || !this.groups.get(nat.groupName)?.instanceIds.includes(nat.instanceId)) {
        throw awsError('ValidationError', `Instance Id not found - No managed instance found for instance ID: ${input.InstanceId}`);
      }
      nat.healthStatus = input.HealthStatus;
      return {};
    },
    CompleteLifecycleActionCommand: (input) => {
      const nat = this.nats.get(input.InstanceId);
      const next =
        nat?.lifecycleState === 'Pending:Wait'
          ? input.LifecycleActionResult === 'CONTINUE'
            ? 'InService'
            : 'Terminating'
          : nat?.lifecycleState === 'Terminating:Wait'
            ? 'Terminating:Proceed'
            : undefined;
      if (!nat || !next || nat.groupName !== input.AutoScalingGroupName) {
        throw awsError('ValidationError', `No active Lifecycle Action found with instance ID ${input.InstanceId}`);
      }
      nat.lifecycleState = next;
      return {};
    },
    DescribeRouteTablesCommand: (input) => {
      let tables = [...this.tables.values()];
      for (const filter of input.Filters ?? []) {
        const name = String(filter.Name);
        if (name.startsWith('tag:')) tables = tables.filter((t) => filter.Values.includes(t.tags[name.slice(4)]));
        else if (name === 'vpc-id') tables = tables.filter((t) => filter.Values.includes(t.vpcId));
        else throw awsError('InvalidParameterValue', `the fake does not implement filter ${name}`);
      }
      const { items, next } = page(tables, input.NextToken, input.MaxResults, 100);
      return { RouteTables: items.map((t) => this.describeTable(t)), NextToken: next };
    },
    DescribeSubnetsCommand: (input) => {
      const wanted = filterValues(input, 'subnet-id') ?? input.SubnetIds;
      const subnets: FakeSubnet[] = wanted ? wanted.flatMap((id: string) => this.subnets.get(id) ?? []) : [...this.subnets.values()];
      return { Subnets: subnets.map((s) => ({ SubnetId: s.subnetId, VpcId: s.vpcId, AvailabilityZone: s.availabilityZone })) };
    },
    DescribeInstancesCommand: (input) => {
      const wanted: string[] = filterValues(input, 'instance-id') ?? input.InstanceIds ?? [...this.nats.keys()];
      const instances = wanted.flatMap((id) => {
        const n = this.nats.get(id);
        if (!n || n.ec2State === undefined) return [];
        return [
          {
            InstanceId: n.instanceId,
            State: { Name: n.ec2State },
            LaunchTime: n.launchTime,
            VpcId: n.vpcId,
            SubnetId: n.subnetId,
            SourceDestCheck: n.sourceDestCheck,
            Placement: { AvailabilityZone: n.availabilityZone },
            NetworkInterfaces: [{ NetworkInterfaceId: n.networkInterfaceId, Attachment: { DeviceIndex: 0 } }],
            Tags: Object.entries(n.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
          },
        ];
      });
      return { Reservations: instances.length ? [{ Instances: instances }] : [] };
    },
    DescribeAddressesCommand: (input) => {
      const wanted = filterValues(input, 'allocation-id') ?? input.AllocationIds;
      return {
        Addresses: [...this.addresses]
          .filter(([id]) => !wanted || wanted.includes(id))
          .map(([id, a]) => ({ AllocationId: id, InstanceId: a.instanceId, NetworkInterfaceId: a.networkInterfaceId })),
      };
    },
    AssociateAddressCommand: (input) => {
      const nat = [...this.nats.values()].find((n) => n.networkInterfaceId === input.NetworkInterfaceId || n.instanceId === input.InstanceId);
      if (!this.addresses.has(input.AllocationId)) throw awsError('InvalidAllocationID.NotFound', `${input.AllocationId} not found`);
      this.addresses.set(input.AllocationId, { instanceId: nat?.instanceId, networkInterfaceId: nat?.networkInterfaceId });
      return { AssociationId: `eipassoc-${input.AllocationId.slice(9)}` };
    },
    ModifyInstanceAttributeCommand: (input) => {
      const nat = this.nats.get(input.InstanceId);
      if (!nat || nat.ec2State === undefined) throw awsError('InvalidInstanceID.NotFound', `The instance ID '${input.InstanceId}' does not exist`);
      if (input.SourceDestCheck) nat.sourceDestCheck = input.SourceDestCheck.Value;
      return {};
    },
    CreateRouteCommand: (input) => {
      const table = this.table(input.RouteTableId);
      if (table.defaultRoute) {
        throw awsError('RouteAlreadyExists', `The route identified by ${input.DestinationCidrBlock} already exists.`);
      }
      table.defaultRoute = this.routeTo(input.NetworkInterfaceId);
      return { Return: true };
    },
    ReplaceRouteCommand: (input) => {
      const table = this.table(input.RouteTableId);
      if (!table.defaultRoute) {
        throw awsError('InvalidRoute.NotFound', `no route with destination-cidr-block ${input.DestinationCidrBlock} in route table ${input.RouteTableId}`);
      }
      table.defaultRoute = this.routeTo(input.NetworkInterfaceId);
      return {};
    },
    // The report log: answers the controller's Query (pk = instance, sk BETWEEN) with the items
    // the intake would have written (common/report-store.ts), in sort-key order, one page.
    QueryCommand: (input) =>
      answerReportQuery(input, { beats: (id) => this.heartbeats.get(id) ?? [], witnesses: (id) => this.witnesses.get(id) ?? [] }),
  };

  private describeGroup(g: FakeGroup) {
    return {
      AutoScalingGroupName: g.name,
      MinSize: g.instanceIds.length,
      MaxSize: g.instanceIds.length,
      DesiredCapacity: g.instanceIds.length,
      DefaultCooldown: 300,
      HealthCheckType: 'EC2',
      HealthCheckGracePeriod: g.healthCheckGracePeriod,
      CreatedTime: new Date(0),
      AvailabilityZones: [...new Set(g.subnetIds.map((s) => this.subnets.get(s)?.availabilityZone ?? 'unknown'))],
      VPCZoneIdentifier: g.subnetIds.join(','),
      Tags: Object.entries(g.tags).map(([Key, Value]) => ({ Key, Value, ResourceId: g.name, ResourceType: 'auto-scaling-group', PropagateAtLaunch: false })),
      Instances: g.instanceIds.flatMap((id) => this.nats.get(id) ?? []).map((n) => this.describeGroupInstance(n)),
    };
  }

  private describeGroupInstance(n: FakeNat) {
    return {
      InstanceId: n.instanceId,
      AvailabilityZone: n.availabilityZone,
      LifecycleState: n.lifecycleState,
      HealthStatus: n.healthStatus,
      ProtectedFromScaleIn: false,
    };
  }

  private describeTable(t: FakeTable) {
    const local = { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active', Origin: 'CreateRouteTable' };
    return {
      RouteTableId: t.routeTableId,
      VpcId: t.vpcId,
      Tags: Object.entries(t.tags).map(([Key, Value]) => ({ Key, Value })),
      Associations: t.subnetIds.map((s, i) => ({ Main: false, RouteTableAssociationId: `rtbassoc-${t.routeTableId.slice(4)}${i}`, RouteTableId: t.routeTableId, SubnetId: s })),
      Routes: [local, ...(t.defaultRoute ? [{ DestinationCidrBlock: '0.0.0.0/0', Origin: 'CreateRoute', ...t.defaultRoute }] : [])],
    };
  }

  private table(routeTableId: string): FakeTable {
    const table = this.tables.get(routeTableId);
    if (!table) throw awsError('InvalidRouteTableID.NotFound', `The routeTable ID '${routeTableId}' does not exist`);
    return table;
  }

  private routeTo(networkInterfaceId: string): FakeRoute {
    const nat = [...this.nats.values()].find((n) => n.networkInterfaceId === networkInterfaceId);
    if (!nat) throw awsError('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${networkInterfaceId}' does not exist`);
    return { NetworkInterfaceId: networkInterfaceId, InstanceId: nat.instanceId, State: 'active' };
  }
}

function filterValues(input: any, name: string): string[] | undefined {
  return (input.Filters ?? []).find((f: any) => f.Name === name)?.Values;
}

/** One page of a list and the token of the next; `max` caps a requested page size like the API does. */
function page<T>(items: T[], token: string | undefined, size: number | undefined, max: number) {
  const offset = token ? Number(token) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw awsError('InvalidNextToken', `bad token ${token}`);
  const limit = size === undefined ? items.length : Math.min(size, max);
  const end = offset + limit;
  return { items: items.slice(offset, end), next: end < items.length ? String(end) : undefined };
}
