/**
 * What `natbeat status` shows, computed from the controller's own snapshot and plan: per group and
 * AZ, each NAT and each private route table as they are now, the change the controller would make,
 * and everything it would alert on. Pure: the renderers and --json both read this.
 */
import { describeRouteTarget } from '../lambdas/core/route-target';
import type { Action, NatAssessment, RouteTarget } from '../lambdas/core/types';
import type { Inspection, PublicAddress } from './inspect';

export interface NatView {
  instanceId: string;
  groupName: string;
  availabilityZone: string;
  lifecycleState: string;
  healthStatus: string;
  ec2State?: string;
  verdict: NatAssessment['verdict'];
  reason: string;
  /** The newest heartbeat sample (healthy or not). */
  lastBeat?: { at: string; ageSeconds: number; value: number };
  /** Seconds since the newest healthy heartbeat. */
  lastHealthyAgeSeconds?: number;
  sourceDestCheck?: boolean;
  /** undefined: the addresses could not be read; null: none associated. */
  elasticIp?: PublicAddress | null;
  /** Route tables whose default route points at this NAT now. */
  routeTableIds: string[];
}

/** How a private route table reaches the internet now. */
export type RouteVia =
  | 'same-az' // a natbeat NAT in the table's own AZ
  | 'cross-az' // a natbeat NAT in another AZ
  | 'blackhole' // the target is gone
  | 'no-route' // no 0.0.0.0/0 route
  | 'nat-gateway'
  | 'gateway' // an internet, transit, virtual private or other gateway, or a peering connection
  | 'unmanaged'; // an instance or interface that is not a natbeat NAT

export interface RouteView {
  routeTableId: string;
  vpcId: string;
  availabilityZones: string[];
  /** The current 0.0.0.0/0 target id, if any. */
  target?: string;
  via: RouteVia;
  /** The natbeat NAT the route points at, if any. */
  natInstanceId?: string;
  natVerdict?: NatAssessment['verdict'];
  /** What the controller would do with this table now. */
  pending?: { instanceId: string; reason: string };
  /** How the controller judges the table after its next run. */
  outcome: { serving: string; reason: string };
}

export interface ZoneView {
  availabilityZone: string;
  nats: NatView[];
  routeTables: RouteView[];
}

export interface GroupView {
  name: string;
  vpcIds: string[];
  zones: ZoneView[];
}

export type AlertView = { kind: string; message: string; resourceIds: string[] };

export interface FleetView {
  observedAt: string;
  groups: GroupView[];
  /** What the controller (or its alarms) would page about. Non-empty → exit code 1. */
  alerts: AlertView[];
  /** Actions the controller would take now: normally none, since it runs every minute. */
  pendingActions: number;
  notes: string[];
}

export function buildFleetView(inspection: Inspection, options: { groups?: string[] } = {}): FleetView {
  const { snapshot, plan, addresses } = inspection;
  const now = snapshot.observedAt;
  const assessments = new Map(plan.nats.map((n) => [n.instanceId, n]));
  const instances = snapshot.groups.flatMap((g) => g.instances);
  const byEni = new Map(instances.filter((i) => i.networkInterfaceId).map((i) => [i.networkInterfaceId!, i]));
  const byId = new Map(instances.map((i) => [i.instanceId, i]));
  const setRoutes = new Map(
    plan.actions.flatMap((a) => (a.kind === 'SetRoute' ? [[a.routeTableId, a] as const] : [])),
  );
  const outcomes = new Map(plan.routes.map((r) => [r.routeTableId, r]));

  const natOf = (target: RouteTarget | undefined) =>
    target && ((target.instanceId ? byId.get(target.instanceId) : undefined) ?? (target.networkInterfaceId ? byEni.get(target.networkInterfaceId) : undefined));

  const routeViews = snapshot.routeTables.map((table): RouteView => {
    const target = table.defaultRoute;
    const nat = natOf(target);
    const pending = setRoutes.get(table.routeTableId);
    const outcome = outcomes.get(table.routeTableId);
    return {
      routeTableId: table.routeTableId,
      vpcId: table.vpcId,
      availabilityZones: table.availabilityZones,
      target: target && describeRouteTarget(target).id,
      via: classify(target, nat?.availabilityZone, table.availabilityZones),
      natInstanceId: nat?.instanceId,
      natVerdict: nat ? assessments.get(nat.instanceId)?.verdict : undefined,
      pending: pending && { instanceId: pending.instanceId, reason: pending.reason },
      outcome: { serving: outcome?.serving ?? 'unknown', reason: outcome?.reason ?? 'not judged' },
    };
  });

  const wanted = options.groups && options.groups.length > 0 ? new Set(options.groups) : undefined;
  const groups = snapshot.groups
    .filter((g) => !wanted || wanted.has(g.name))
    .map((group): GroupView => {
      const vpcs = new Set(group.vpcIds);
      const nats = group.instances.map((instance): NatView => {
        const assessment = assessments.get(instance.instanceId);
        const samples = snapshot.heartbeats.get(instance.instanceId) ?? [];
        const latest = samples.at(-1);
        return {
          instanceId: instance.instanceId,
          groupName: group.name,
          availabilityZone: instance.availabilityZone,
          lifecycleState: instance.lifecycleState,
          healthStatus: instance.healthStatus,
          ec2State: instance.ec2State,
          verdict: assessment?.verdict ?? 'leaving',
          reason: assessment?.reason ?? 'not assessed',
          lastBeat: latest && { at: latest.at.toISOString(), ageSeconds: ageSeconds(now, latest.at), value: latest.value },
          lastHealthyAgeSeconds: assessment?.lastHeartbeatAt && ageSeconds(now, assessment.lastHeartbeatAt),
          sourceDestCheck: instance.sourceDestCheck,
          elasticIp: addresses === undefined ? undefined : (addresses.get(instance.instanceId) ?? null),
          routeTableIds: routeViews.filter((r) => r.natInstanceId === instance.instanceId).map((r) => r.routeTableId),
        };
      });
      const tables = routeViews.filter((r) => vpcs.has(r.vpcId));
      const zoneNames = [...new Set([...nats.map((n) => n.availabilityZone), ...tables.map((t) => zoneOf(t))])].sort();
      return {
        name: group.name,
        vpcIds: group.vpcIds,
        zones: zoneNames.map((zone) => ({
          availabilityZone: zone,
          nats: nats.filter((n) => n.availabilityZone === zone).sort((a, b) => a.instanceId.localeCompare(b.instanceId)),
          routeTables: tables.filter((t) => zoneOf(t) === zone).sort((a, b) => a.routeTableId.localeCompare(b.routeTableId)),
        })),
      };
    });

  const inView = (ids: string[]) => {
    if (!wanted) return true;
    const shown = new Set(groups.flatMap((g) => [g.name, ...g.vpcIds, ...g.zones.flatMap((z) => [...z.nats.map((n) => n.instanceId), ...z.routeTables.map((t) => t.routeTableId)])]));
    return ids.length === 0 || ids.some((id) => shown.has(id));
  };

  return {
    observedAt: now.toISOString(),
    groups,
    alerts: alertsOf(inspection, groups).filter((a) => inView(a.resourceIds)),
    pendingActions: plan.actions.filter((a) => inView(actionResources(a))).length,
    notes: [...inspection.notes, ...subnetlessNotes(inspection).filter((n) => inView([n.routeTableId])).map((n) => n.note)],
  };
}

/** Tables with no subnet association: served by any healthy NAT, not paged on; said, not alerted. */
function subnetlessNotes({ snapshot, plan }: Inspection): { routeTableId: string; note: string }[] {
  const outcomes = new Map(plan.routes.map((r) => [r.routeTableId, r]));
  return snapshot.routeTables
    .filter((t) => t.availabilityZones.length === 0)
    .map((t) => ({
      routeTableId: t.routeTableId,
      note: `route table ${t.routeTableId} has no subnet association: it is served by the least-loaded healthy NAT of any AZ and never counts towards the zone alarms (${outcomes.get(t.routeTableId)?.reason ?? 'not judged'})`,
    }));
}

const NAT_ALERT: Partial<Record<NatView['verdict'], string>> = { silent: 'NatSilent', failing: 'NatFailing', unreachable: 'NatUnreachable' };

/** The controller's alerts, plus what its alarms page on: silent, failing or unreachable NATs, tables without a same-AZ NAT. */
function alertsOf(inspection: Inspection, groups: GroupView[]): AlertView[] {
  const { plan } = inspection;
  const alerts: AlertView[] = plan.alerts.map((a) => ({ kind: a.kind, message: withPermission(a.message, inspection), resourceIds: a.resourceIds }));
  const mentioned = new Set(alerts.flatMap((a) => a.resourceIds));
  for (const nat of groups.flatMap((g) => g.zones.flatMap((z) => z.nats))) {
    const kind = NAT_ALERT[nat.verdict];
    if (kind) {
      alerts.push({
        kind,
        message: `${nat.instanceId} (${nat.availabilityZone}) is ${nat.verdict}: ${nat.reason}`,
        resourceIds: [nat.instanceId],
      });
    }
  }
  const subnetless = new Set(inspection.snapshot.routeTables.filter((t) => t.availabilityZones.length === 0).map((t) => t.routeTableId));
  for (const route of plan.routes) {
    if ((route.serving === 'cross-az' || route.serving === 'none') && !mentioned.has(route.routeTableId) && !subnetless.has(route.routeTableId)) {
      alerts.push({
        kind: route.serving === 'none' ? 'TableWithoutNat' : 'TableWithoutSameAzNat',
        message: `route table ${route.routeTableId}${route.availabilityZone ? ` (${route.availabilityZone})` : ''} has no healthy NAT in its own AZ: ${route.reason}`,
        resourceIds: [route.routeTableId],
      });
    }
  }
  return alerts;
}

/** Adds the IAM permission to an "could not observe" alert when the failed call was denied. */
function withPermission(message: string, inspection: Inspection): string {
  const denied = inspection.failedReads.find((f) => f.hint && message.includes(f.code));
  return denied?.hint ? `${message} — ${denied.hint}` : message;
}

function classify(target: RouteTarget | undefined, natZone: string | undefined, tableZones: string[]): RouteVia {
  if (!target) return 'no-route';
  if (target.state === 'blackhole') return 'blackhole';
  if (natZone !== undefined) return tableZones.includes(natZone) ? 'same-az' : 'cross-az';
  if (target.natGatewayId) return 'nat-gateway';
  if (target.instanceId || target.networkInterfaceId) return 'unmanaged';
  return 'gateway';
}

function zoneOf(route: RouteView): string {
  return route.availabilityZones.join(',') || '(no subnet)';
}

function ageSeconds(now: Date, at: Date): number {
  return Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
}

export function actionResources(action: Action): string[] {
  switch (action.kind) {
    case 'SetRoute':
      return [action.routeTableId, action.instanceId];
    case 'SetUnhealthy':
    case 'CompleteLifecycle':
      return [action.groupName, action.instanceId];
    case 'DisableSourceDestCheck':
      return [action.instanceId];
    case 'TagHandover':
      return [action.instanceId, action.fromInstanceId];
    case 'AssociateElasticIp':
      return [action.allocationId, action.instanceId];
  }
}

