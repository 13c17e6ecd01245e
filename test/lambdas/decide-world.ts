/**
 * A tiny builder of decide() snapshots: NATs per AZ with heartbeat histories, private route
 * tables per AZ. Times are seconds relative to NOW.
 */
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import type { DecideConfig } from '../../lambdas/core/decide';
import type { HeartbeatSample, ManagedGroup, NatInstance, Plan, PrivateRouteTable, Snapshot } from '../../lambdas/core/types';

export const NOW = new Date('2026-06-01T12:00:00Z');
export const at = (secondsFromNow: number) => new Date(NOW.getTime() + secondsFromNow * 1000);

export const CONFIG: DecideConfig = {
  ...DEFAULT_CONFIG,
  silenceSeconds: 25,
  graceSeconds: 300,
  failbackHeartbeats: 3,
  maxUnhealthyShare: 0.5,
  heartbeatPeriodSeconds: 10,
};

export const VPC = 'vpc-1';

/** Healthy beats every 10 s ending `lastAgo` seconds ago. */
export function beats(count: number, lastAgo = 2, value = 1): HeartbeatSample[] {
  return Array.from({ length: count }, (_, i) => ({ at: at(-lastAgo - (count - 1 - i) * 10), value }));
}

export interface NatSpec {
  id: string;
  az: string;
  group?: string;
  lifecycle?: string;
  health?: string;
  ec2State?: string;
  launchedAgo?: number;
  samples?: HeartbeatSample[];
  sourceDestCheck?: boolean;
  vpcId?: string;
}

export interface TableSpec {
  id: string;
  azs: string[];
  /** Current default route: a NAT id (its ENI is eni-<id>), or a raw target. */
  to?: string;
  blackhole?: boolean;
  vpcId?: string;
}

export function eni(natId: string) {
  return `eni-${natId.replace(/^i-/, '')}`;
}

export function world(nats: NatSpec[], tables: TableSpec[], extra: Partial<Snapshot> = {}): Snapshot {
  const groups = new Map<string, ManagedGroup>();
  const heartbeats = new Map<string, HeartbeatSample[]>();
  for (const n of nats) {
    const name = n.group ?? 'nat-asg';
    const group = groups.get(name) ?? {
      name,
      healthCheckGracePeriodSeconds: 0,
      vpcIds: [n.vpcId ?? VPC],
      instances: [],
      elasticIps: {},
    };
    groups.set(name, group);
    const instance: NatInstance = {
      instanceId: n.id,
      groupName: name,
      availabilityZone: n.az,
      lifecycleState: n.lifecycle ?? 'InService',
      healthStatus: n.health ?? 'Healthy',
      ec2State: n.ec2State ?? 'running',
      launchTime: at(-(n.launchedAgo ?? 3600)),
      vpcId: n.vpcId ?? VPC,
      networkInterfaceId: eni(n.id),
      sourceDestCheck: n.sourceDestCheck ?? false,
    };
    group.instances.push(instance);
    heartbeats.set(n.id, n.samples ?? beats(6));
  }
  const routeTables: PrivateRouteTable[] = tables.map((t) => ({
    routeTableId: t.id,
    vpcId: t.vpcId ?? VPC,
    availabilityZones: t.azs,
    defaultRoute: t.to
      ? t.to.startsWith('i-')
        ? { instanceId: t.to, networkInterfaceId: eni(t.to), state: t.blackhole ? 'blackhole' : 'active' }
        : { natGatewayId: t.to, state: t.blackhole ? 'blackhole' : 'active' }
      : undefined,
  }));
  return {
    observedAt: NOW,
    groups: [...groups.values()],
    heartbeats,
    heartbeatsObserved: true,
    routeTables,
    unobservedVpcIds: [],
    elasticIps: [],
    failures: [],
    ...extra,
  };
}

/** Three AZs, one NAT and one private table each, all healthy and routed same-AZ. */
export function healthyThreeAz(overrides: Partial<Record<'a' | 'b' | 'c', Partial<NatSpec>>> = {}) {
  const nats = (['a', 'b', 'c'] as const).map((z) => ({ id: `i-${z}1`, az: `us-east-1${z}`, ...overrides[z] }));
  const tables = (['a', 'b', 'c'] as const).map((z) => ({ id: `rtb-${z}`, azs: [`us-east-1${z}`], to: `i-${z}1` }));
  return { nats, tables };
}

/** What a plan does, in the few shapes the tests compare. */
export const kinds = (plan: Plan) => plan.actions.map((a) => a.kind);
export const routesSet = (plan: Plan) =>
  Object.fromEntries(plan.actions.flatMap((a) => (a.kind === 'SetRoute' ? [[a.routeTableId, a.instanceId] as const] : [])));
export const marked = (plan: Plan) => plan.actions.flatMap((a) => (a.kind === 'SetUnhealthy' ? [a.instanceId] : []));
export const verdictOf = (plan: Plan, id: string) => plan.nats.find((n) => n.instanceId === id)?.verdict;
export const alertKinds = (plan: Plan) => plan.alerts.map((a) => a.kind);
