/**
 * The controller's view of the world (a snapshot, built by observe) and what it decides to do
 * about it (actions, built by decide). Plain data: no SDK types leak past observe/act.
 */

export const DEFAULT_ROUTE_CIDR = '0.0.0.0/0';

/** Auto Scaling lifecycle states the controller treats specially. */
export const LifecycleState = {
  InService: 'InService',
  PendingWait: 'Pending:Wait',
  TerminatingWait: 'Terminating:Wait',
} as const;

export interface NatInstance {
  instanceId: string;
  groupName: string;
  availabilityZone: string;
  /** Auto Scaling lifecycle state, e.g. InService, Pending:Wait, Terminating:Wait. */
  lifecycleState: string;
  /** Auto Scaling health: Healthy | Unhealthy. */
  healthStatus: string;
  /** EC2 state name (running, stopped, …); undefined when EC2 does not know the instance. */
  ec2State?: string;
  launchTime?: Date;
  vpcId?: string;
  /** The primary ENI (device index 0): routes target it, since CreateRoute by instance fails with several ENIs. */
  networkInterfaceId?: string;
  sourceDestCheck?: boolean;
  /** Primary private IPv4 address: where a NAT taking its tables hands its mid-stream flows. */
  privateIpAddress?: string;
  /** Its `natbeat:handover-from` tag, when it carries a valid one. */
  handoverFrom?: { address: string; until: Date };
}

export interface ManagedGroup {
  name: string;
  /** The group's own HealthCheckGracePeriod, seconds. */
  healthCheckGracePeriodSeconds: number;
  vpcIds: string[];
  instances: NatInstance[];
  /** Pinned Elastic IP allocation per AZ (from tags or configuration). */
  elasticIps: Record<string, string>;
}

export interface HeartbeatSample {
  at: Date;
  /** 1 = all probes passed, 0 = the agent reports a failed probe. */
  value: number;
}

/** A peer's word that it cannot reach a NAT: a hint, believed only with the NAT's own beat overdue. */
export interface WitnessReport {
  /** The NAT that said so (the intake's verified caller). */
  witnessId: string;
  /** When the intake received it. */
  at: Date;
}

/** Where a 0.0.0.0/0 route can lead, as DescribeRouteTables reports it (one of the ids is set). */
export interface RouteTarget {
  instanceId?: string;
  networkInterfaceId?: string;
  natGatewayId?: string;
  /** An internet gateway (igw-…), a virtual private gateway (vgw-…), a gateway endpoint (vpce-…). */
  gatewayId?: string;
  transitGatewayId?: string;
  vpcPeeringConnectionId?: string;
  carrierGatewayId?: string;
  localGatewayId?: string;
  coreNetworkArn?: string;
  egressOnlyInternetGatewayId?: string;
  /** active | blackhole */
  state?: string;
}

export interface PrivateRouteTable {
  routeTableId: string;
  vpcId: string;
  /** AZs of the subnets associated with it (usually one). */
  availabilityZones: string[];
  /** The current 0.0.0.0/0 route, if any. */
  defaultRoute?: RouteTarget;
}

export interface ElasticIpAssociation {
  allocationId: string;
  instanceId?: string;
  networkInterfaceId?: string;
}

export interface ObservationFailure {
  /** What could not be read: a group name, a VPC id, or `heartbeats` / `route-tables` / …. */
  scope: string;
  message: string;
}

export interface Snapshot {
  observedAt: Date;
  groups: ManagedGroup[];
  /** Heartbeat samples by instance id, oldest first. Missing key = heartbeats could not be read. */
  heartbeats: Map<string, HeartbeatSample[]>;
  /** False when the heartbeat query failed: then nothing may be marked Unhealthy. */
  heartbeatsObserved: boolean;
  /**
   * Recent witness reports by the NAT they name (the subject), oldest first. Absent or missing a
   * subject: no peer named it.
   */
  witnesses?: Map<string, WitnessReport[]>;
  routeTables: PrivateRouteTable[];
  /** VPCs whose route tables could not be read completely; no route is written there. */
  unobservedVpcIds: string[];
  elasticIps: ElasticIpAssociation[];
  /**
   * Instances a default route points at that no managed group lists any more, but that one of
   * them launched (its `aws:autoscaling:groupName` tag) or that are terminated: NATs of this
   * deployment that left, or dead targets, whose routes are ours to fix. Absent: none.
   */
  formerNatIds?: string[];
  /** Route targets whose owner could not be read in this run: their tables are left as they are. */
  unresolvedTargetIds?: string[];
  failures: ObservationFailure[];
}

/** How the controller judges one NAT. */
export type NatVerdict =
  | 'healthy' // latest heartbeat is 1 and recent
  | 'failing' // the agent says a probe failed (latest value 0)
  | 'silent' // past grace, no heartbeat in the silence window
  | 'unreachable' // its beat is overdue and a healthy peer cannot reach it: tables move, never marked
  | 'booting' // in grace and not yet proved
  | 'leaving' // terminating, stopped or otherwise out of service
  | 'unhealthy'; // already marked Unhealthy in its group, waiting for replacement

export interface NatAssessment {
  instanceId: string;
  groupName: string;
  availabilityZone: string;
  vpcId?: string;
  lifecycleState: string;
  verdict: NatVerdict;
  /** May carry routes now. */
  routable: boolean;
  /** Healthy long enough for a failback to it. */
  stable: boolean;
  lastHeartbeatAt?: Date;
  reason: string;
}

/**
 * unknown: not judged in this run (its VPC or the heartbeats could not be read).
 * any-az: the table has no subnet association (no AZ of its own), served by a healthy NAT.
 * foreign: its default route leads to something that is not a NAT of this deployment: left alone.
 */
export type RouteServing = 'same-az' | 'cross-az' | 'any-az' | 'none' | 'unknown' | 'foreign';

export interface RouteAssessment {
  routeTableId: string;
  vpcId: string;
  availabilityZone?: string;
  currentTarget?: RouteTarget;
  /** The NAT the table should use after this run (current or new); undefined = none available. */
  desiredInstanceId?: string;
  serving: RouteServing;
  reason: string;
}

export type Action =
  | {
      kind: 'SetUnhealthy';
      groupName: string;
      instanceId: string;
      reason: string;
    }
  | {
      kind: 'DisableSourceDestCheck';
      instanceId: string;
      reason: string;
    }
  | {
      kind: 'AssociateElasticIp';
      allocationId: string;
      instanceId: string;
      networkInterfaceId: string;
      reason: string;
    }
  | {
      kind: 'SetRoute';
      routeTableId: string;
      /** create when the table has no default route, replace otherwise. */
      mode: 'create' | 'replace';
      instanceId: string;
      networkInterfaceId: string;
      previous?: RouteTarget;
      /** The NAT the route leaves, when it was one of ours (a terminate hook waits for it). */
      previousInstanceId?: string;
      reason: string;
    }
  | {
      /** Before a planned move: tells the NAT taking the tables whom to hand mid-stream flows to. */
      kind: 'TagHandover';
      instanceId: string;
      /** The NAT the tables leave, and its private address. */
      fromInstanceId: string;
      fromAddress: string;
      until: Date;
      reason: string;
    }
  | {
      kind: 'CompleteLifecycle';
      groupName: string;
      hookName: string;
      instanceId: string;
      result: 'CONTINUE' | 'ABANDON';
      reason: string;
    };

export type ActionKind = Action['kind'];

export type AlertKind =
  | 'SafetyValveTripped'
  | 'NoHealthyNat'
  | 'CrossAzFailover'
  | 'ObservationFailed'
  | 'LeavingWithoutSuccessor'
  | 'ForeignRoute'
  | 'ElasticIpConflict';

export interface Alert {
  kind: AlertKind;
  message: string;
  resourceIds: string[];
}

export interface Plan {
  actions: Action[];
  alerts: Alert[];
  nats: NatAssessment[];
  routes: RouteAssessment[];
  valveTripped: boolean;
  /**
   * NATs that missed their expected beat but are not silent yet, with the moment they would be.
   * A run triggered by a heartbeat alarm waits for the earliest and looks again, so a dead NAT is
   * acted on when its silence window ends rather than at the next scheduled run.
   */
  overdue: { instanceId: string; silentAt: Date }[];
}
