/**
 * decide(): the pure heart of the controller. From a snapshot of the world, the settings and the
 * time, it computes every action the controller should take and why. No I/O, no clock.
 */
import { assessNat, heartbeatLookbackSeconds, overdueAfterMs, type Assessed } from './assess';
import type { ControllerConfig } from './config';
import { planHandover } from './handover';
import { planElasticIps } from './elastic-ips';
import { describeRouteTarget, routeOwner, type RouteOwner } from './route-target';
import { applyWitnesses } from './witness';
import {
  DEFAULT_ROUTE_CIDR,
  LifecycleState,
  type Action,
  type Alert,
  type NatAssessment,
  type Plan,
  type PrivateRouteTable,
  type RouteAssessment,
  type Snapshot,
} from './types';

export type DecideConfig = Pick<
  ControllerConfig,
  | 'silenceSeconds'
  | 'graceSeconds'
  | 'failbackHeartbeats'
  | 'maxUnhealthyShare'
  | 'heartbeatPeriodSeconds'
  | 'heartbeatSlackSeconds'
  | 'launchHookName'
  | 'terminateHookName'
  | 'launchProofTimeoutSeconds'
  | 'handoverDrainSeconds'
>;

// EC2 states from which a launching instance will never serve.
const GONE_EC2_STATES = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

export function decide(snapshot: Snapshot, config: DecideConfig, now: Date): Plan {
  const alerts: Alert[] = snapshot.failures.map((f) => ({
    kind: 'ObservationFailed' as const,
    message: `could not observe ${f.scope}: ${f.message}`,
    resourceIds: [f.scope],
  }));

  const ownWord = snapshot.groups.flatMap((group) =>
    group.instances.map((instance) => assessNat(instance, group, snapshot, config, now)),
  );

  if (!snapshot.heartbeatsObserved) {
    // Without heartbeats every verdict would be a guess: act on nothing, page.
    alerts.push({
      kind: 'ObservationFailed',
      message: 'heartbeats could not be read; no NAT is judged and no route is changed in this run',
      resourceIds: [],
    });
    return {
      actions: [],
      alerts,
      nats: ownWord.map(publicAssessment),
      routes: snapshot.routeTables.map((t) => keepAsIs(t, 'heartbeats unknown: left as it is', 'unknown')),
      valveTripped: false,
      overdue: [],
    };
  }

  // What peers say is believed only where the subject's own beat is overdue (see witness.ts).
  const witnessed = applyWitnesses(ownWord, snapshot.witnesses, config, now);
  const assessed = witnessed.assessed;
  alerts.push(...witnessed.alerts);

  // Safety valve: many NATs going quiet at once points at the report pipeline, not the NATs.
  const fleet = assessed.filter(
    (n) => n.lifecycleState === LifecycleState.InService && n.verdict !== 'booting' && n.verdict !== 'leaving' && n.verdict !== 'unhealthy',
  );
  const toMark = fleet.filter((n) => n.shouldMark);
  const marksHeld = toMark.length > 1 && toMark.length > config.maxUnhealthyShare * fleet.length;
  const valveTripped = marksHeld || witnessed.withheld.length > 0;
  if (marksHeld) {
    alerts.push({
      kind: 'SafetyValveTripped',
      message: `${toMark.length} of ${fleet.length} in-service NATs have no healthy heartbeat (limit ${Math.round(config.maxUnhealthyShare * 100)} %): suspecting the metric pipeline, marking none`,
      resourceIds: toMark.map((n) => n.instanceId),
    });
  }

  const candidates = assessed.filter((n) => n.verdict !== 'leaving' && n.verdict !== 'unhealthy');
  const { routeActions, routes, routeAlerts } = planRoutes(snapshot, assessed, config, witnessed.witnessesOf);
  alerts.push(...routeAlerts);
  // Planned moves: tag the NAT taking the tables first; hold a terminating NAT while it drains.
  const handover = planHandover(assessed, routeActions, planLifecycle(snapshot, assessed, routeActions, config, alerts), config, now);

  const marks: Action[] = marksHeld
    ? []
    : toMark.map((n) => ({
        kind: 'SetUnhealthy' as const,
        groupName: n.groupName,
        instanceId: n.instanceId,
        reason: n.reason,
      }));

  // A pinned address never goes to a NAT this same plan replaces or abandons.
  const goingAway = new Set([...marks, ...handover.lifecycle].flatMap((a) => (a.kind === 'SetUnhealthy' || (a.kind === 'CompleteLifecycle' && a.result === 'ABANDON') ? [a.instanceId] : [])));
  const elasticIps = planElasticIps(
    snapshot.groups,
    snapshot.elasticIps,
    candidates
      .filter((n) => !goingAway.has(n.instanceId))
      .sort(byPreference)
      .map((n) => ({ instanceId: n.instanceId, groupName: n.groupName, availabilityZone: n.availabilityZone, networkInterfaceId: n.instance.networkInterfaceId })),
  );
  alerts.push(...elasticIps.alerts);

  return {
    // Order matters to act: prepare a NAT before routing to it, move routes before a hook
    // completes and before a NAT is marked for replacement.
    actions: [...sourceDestCheckActions(candidates), ...elasticIps.actions, ...handover.tags, ...routeActions, ...handover.lifecycle, ...marks],
    alerts,
    nats: assessed.map(publicAssessment),
    routes,
    valveTripped,
    overdue: findOverdue(assessed, config, now),
  };
}

function findOverdue(assessed: Assessed[], config: DecideConfig, now: Date): Plan['overdue'] {
  return assessed
    .filter(
      (n) =>
        n.verdict === 'healthy' &&
        n.lastHeartbeatAt !== undefined &&
        now.getTime() - n.lastHeartbeatAt.getTime() > overdueAfterMs(config),
    )
    .map((n) => ({ instanceId: n.instanceId, silentAt: new Date(n.lastHeartbeatAt!.getTime() + config.silenceSeconds * 1000 + 500) }))
    .sort((a, b) => a.silentAt.getTime() - b.silentAt.getTime());
}

/** Source/dest check off for every NAT that is or may soon be serving. */
function sourceDestCheckActions(candidates: Assessed[]): Action[] {
  return candidates
    .filter((nat) => nat.instance.sourceDestCheck === true)
    .map((nat) => ({
      kind: 'DisableSourceDestCheck' as const,
      instanceId: nat.instanceId,
      reason: 'a NAT forwards traffic that is not its own: source/destination check must be off',
    }));
}

// Proven NATs first, then the oldest (it has served longest), then by id: deterministic.
function byPreference(a: Assessed, b: Assessed): number {
  if (a.routable !== b.routable) return a.routable ? -1 : 1;
  const at = a.instance.launchTime?.getTime() ?? 0;
  const bt = b.instance.launchTime?.getTime() ?? 0;
  return at - bt || byCodeUnit(a.instanceId, b.instanceId);
}

function planRoutes(snapshot: Snapshot, assessed: Assessed[], config: DecideConfig, witnessesOf: Map<string, Set<string>>) {
  const heartbeatLookback = heartbeatLookbackSeconds(config);
  const routeActions: Action[] = [];
  const routes: RouteAssessment[] = [];
  const routeAlerts: Alert[] = [];
  const unobserved = new Set(snapshot.unobservedVpcIds);
  const formerNats = new Set(snapshot.formerNatIds ?? []);
  const unresolved = new Set(snapshot.unresolvedTargetIds ?? []);
  const byInstance = new Map(assessed.map((n) => [n.instanceId, n]));
  const byEni = new Map(
    assessed.filter((n) => n.instance.networkInterfaceId).map((n) => [n.instance.networkInterfaceId!, n]),
  );
  const tablesByVpc = groupBy(
    [...snapshot.routeTables].sort((a, b) => byCodeUnit(a.routeTableId, b.routeTableId)),
    (t) => t.vpcId,
  );
  // Grouped once: filtering the whole fleet per VPC made this quadratic (seconds at 10,000 NATs).
  const routableByVpc = groupBy(
    assessed.filter((n) => n.routable && n.vpcId !== undefined),
    (n) => n.vpcId!,
  );

  for (const [vpcId, tables] of [...tablesByVpc].sort(([a], [b]) => byCodeUnit(a, b))) {
    if (unobserved.has(vpcId)) {
      for (const t of tables) routes.push(keepAsIs(t, 'VPC not fully observed in this run: left as it is', 'unknown'));
      continue;
    }
    const routable = routableByVpc.get(vpcId) ?? [];
    const stableNats = routable.filter((n) => n.stable);
    const load = new Map<string, number>();
    // What a new target must be: any routable NAT (the table has none), a stable one (moving off a
    // flapping NAT), or a stable one in the table's own AZ (failback).
    const pending: { table: PrivateRouteTable; current?: Assessed; why: string; need: 'any' | 'stable' | 'stable-home' }[] = [];

    // Pass 1: keep every table whose current NAT may stay, so the load counts are known.
    for (const table of tables) {
      const target = table.defaultRoute;
      const current =
        target && target.state !== 'blackhole'
          ? (target.instanceId ? byInstance.get(target.instanceId) : undefined) ??
            (target.networkInterfaceId ? byEni.get(target.networkInterfaceId) : undefined)
          : undefined;
      const zones = table.availabilityZones;
      if (!current) {
        const owner = routeOwner(target, formerNats, unresolved);
        if (owner.owner !== 'ours') {
          routes.push(leaveUnowned(table, owner, routeAlerts));
          continue;
        }
      }
      // A healthy current NAT keeps its tables even if it could not be a new target (e.g. its
      // interface was not observed): moving traffic on missing data would be acting blindly.
      if (current?.verdict === 'healthy' && current.vpcId === vpcId) {
        const sameAz = zones.includes(current.availabilityZone);
        if (zones.length === 0 && !current.flapping) {
          // No subnet uses it, so it has no AZ to fail back to: any healthy NAT will do.
          load.set(current.instanceId, (load.get(current.instanceId) ?? 0) + 1);
          routes.push(assessment(table, current, 'any-az', `kept on ${current.instanceId}: healthy; the table has no subnet, any AZ serves it`));
          continue;
        }
        const others = stableNats.filter((n) => n !== current);
        if (current.flapping && others.length > 0) {
          // A NAT that keeps failing and recovering loses traffic each time: serve the table from
          // a stable NAT until this one has proved itself again (the failback rule brings it back).
          // One failure and a recovery is not flapping: its tables stay.
          pending.push({ table, current, why: `current NAT ${current.instanceId} is flapping (failed more than once in the last ${heartbeatLookback} s)`, need: 'stable' });
          continue;
        }
        if (sameAz) {
          load.set(current.instanceId, (load.get(current.instanceId) ?? 0) + 1);
          routes.push(assessment(table, current, 'same-az', `kept on ${current.instanceId}: healthy, same AZ`));
          continue;
        }
        if (!others.some((n) => zones.includes(n.availabilityZone))) {
          load.set(current.instanceId, (load.get(current.instanceId) ?? 0) + 1);
          routes.push(
            assessment(table, current, 'cross-az', `kept on ${current.instanceId} in ${current.availabilityZone}: no stable NAT in its own AZ yet`),
          );
          continue;
        }
        pending.push({ table, current, why: 'failback to its own AZ', need: 'stable-home' });
        continue;
      }
      pending.push({ table, current, why: describeLoss(target, current), need: 'any' });
    }

    // Pass 2: a new target for each remaining table: own AZ first, then the least-loaded peer.
    for (const { table, current, why, need } of pending) {
      const zones = table.availabilityZones;
      const pick = (candidates: Assessed[]) => {
        const home = candidates.filter((n) => zones.includes(n.availabilityZone));
        const away = need === 'stable-home' ? [] : candidates.filter((n) => !zones.includes(n.availabilityZone));
        const stable = (list: Assessed[]) => list.filter((n) => n.stable);
        // Stable NATs first, own AZ before another; a table without any NAT takes an unstable one too.
        return (
          leastLoaded(stable(home), load) ??
          leastLoaded(stable(away), load) ??
          (need === 'any' ? (leastLoaded(home, load) ?? leastLoaded(away, load)) : undefined)
        );
      };
      const candidates = routable.filter((n) => n !== current);
      // Tables leaving an unreachable NAT go to one that did not name it, where there is one: a
      // witness gains nothing by its word.
      const witnesses = current ? witnessesOf.get(current.instanceId) : undefined;
      const chosen = (witnesses ? pick(candidates.filter((n) => !witnesses.has(n.instanceId))) : undefined) ?? pick(candidates);
      if (!chosen) {
        routeAlerts.push({
          kind: 'NoHealthyNat',
          message: `route table ${table.routeTableId} (${table.availabilityZones.join(',') || 'no subnet'}): ${why}, and no healthy NAT is left in ${vpcId}; left as it is`,
          resourceIds: [table.routeTableId, vpcId],
        });
        routes.push(keepAsIs(table, `${why}; no healthy NAT anywhere in the VPC`));
        continue;
      }
      load.set(chosen.instanceId, (load.get(chosen.instanceId) ?? 0) + 1);
      const sameAz = zones.includes(chosen.availabilityZone);
      const zoneless = zones.length === 0;
      const where = sameAz ? 'same AZ' : zoneless ? `no subnet: least-loaded NAT, in ${chosen.availabilityZone}` : `cross-AZ, in ${chosen.availabilityZone}`;
      const reason = `${why}: → ${chosen.instanceId} (${where})`;
      routeActions.push({
        kind: 'SetRoute',
        routeTableId: table.routeTableId,
        mode: table.defaultRoute ? 'replace' : 'create',
        instanceId: chosen.instanceId,
        networkInterfaceId: chosen.instance.networkInterfaceId!,
        previous: table.defaultRoute,
        previousInstanceId: current?.instanceId ?? table.defaultRoute?.instanceId,
        reason,
      });
      routes.push(assessment(table, chosen, sameAz ? 'same-az' : zoneless ? 'any-az' : 'cross-az', reason));
      if (!sameAz && !zoneless) {
        routeAlerts.push({
          kind: 'CrossAzFailover',
          message: `route table ${table.routeTableId} served from another AZ by ${chosen.instanceId}`,
          resourceIds: [table.routeTableId, chosen.instanceId],
        });
      }
    }
  }
  return { routeActions, routes, routeAlerts };
}

function describeLoss(target: PrivateRouteTable['defaultRoute'], current: Assessed | undefined): string {
  if (!target) return `no ${DEFAULT_ROUTE_CIDR} route`;
  if (target.state === 'blackhole') return `${DEFAULT_ROUTE_CIDR} route is a blackhole`;
  if (current) return `current NAT ${current.instanceId} is ${current.verdict} (${current.reason})`;
  return `current target ${describeRouteTarget(target).id} is no NAT any more (a NAT of this deployment that left its group, or terminated)`;
}

/** A table whose route is someone else's (alerted on) or whose owner is unknown in this run. */
function leaveUnowned(table: PrivateRouteTable, owner: Exclude<RouteOwner, { owner: 'ours' }>, alerts: Alert[]): RouteAssessment {
  if (owner.owner === 'unresolved') {
    return keepAsIs(table, `owner of the current target ${owner.id} could not be read: left as it is`, 'unknown');
  }
  const message = `route table ${table.routeTableId}: ${DEFAULT_ROUTE_CIDR} leads to ${owner.kind} ${owner.id}, which is not a NAT of this deployment; left alone (remove the table's tag, or the route, to let natbeat manage it)`;
  alerts.push({ kind: 'ForeignRoute', message, resourceIds: [table.routeTableId, owner.id] });
  return keepAsIs(table, `${DEFAULT_ROUTE_CIDR} leads to ${owner.kind} ${owner.id}, not a NAT of this deployment: left alone`, 'foreign');
}

function leastLoaded(candidates: Assessed[], load: Map<string, number>): Assessed | undefined {
  let best: Assessed | undefined;
  for (const n of candidates) {
    if (!best) {
      best = n;
      continue;
    }
    const diff = (load.get(n.instanceId) ?? 0) - (load.get(best.instanceId) ?? 0);
    if (diff < 0 || (diff === 0 && tieBreak(n, best) < 0)) best = n;
  }
  return best;
}

function tieBreak(a: Assessed, b: Assessed): number {
  return byCodeUnit(a.availabilityZone, b.availabilityZone) || byCodeUnit(a.instanceId, b.instanceId);
}

function planLifecycle(
  snapshot: Snapshot,
  assessed: Assessed[],
  routeActions: Action[],
  config: DecideConfig,
  alerts: Alert[],
): Action[] {
  const actions: Action[] = [];
  const unobserved = new Set(snapshot.unobservedVpcIds);
  for (const nat of assessed) {
    const state = nat.lifecycleState;
    if (state === LifecycleState.PendingWait) {
      if (nat.routable) {
        actions.push(complete(nat, config.launchHookName, 'CONTINUE', `proved it routes: ${nat.reason}`));
      } else if (nat.instance.ec2State !== undefined && GONE_EC2_STATES.has(nat.instance.ec2State)) {
        // Only a known end: right after launch EC2 may not list the instance yet (eventual
        // consistency), and abandoning it then would replace a healthy launch.
        actions.push(complete(nat, config.launchHookName, 'ABANDON', `launching instance is ${nat.instance.ec2State}`));
      } else if ((nat.launchedSecondsAgo ?? 0) >= config.launchProofTimeoutSeconds) {
        actions.push(
          complete(nat, config.launchHookName, 'ABANDON', `no healthy heartbeat within ${config.launchProofTimeoutSeconds} s of launch`),
        );
      }
    } else if (state === LifecycleState.TerminatingWait) {
      if (nat.vpcId !== undefined && unobserved.has(nat.vpcId)) continue; // routes unknown: next run
      const stranded = snapshot.routeTables.filter(
        (t) =>
          pointsAt(t, nat) && !routeActions.some((a) => a.kind === 'SetRoute' && a.routeTableId === t.routeTableId),
      );
      if (stranded.length > 0) {
        alerts.push({
          kind: 'LeavingWithoutSuccessor',
          message: `${nat.instanceId} is terminating and no healthy NAT can take ${stranded.map((t) => t.routeTableId).join(', ')}`,
          resourceIds: [nat.instanceId, ...stranded.map((t) => t.routeTableId)],
        });
      }
      const moved = routeActions.filter((a) => a.kind === 'SetRoute' && a.previousInstanceId === nat.instanceId).length;
      actions.push(
        complete(
          nat,
          config.terminateHookName,
          'CONTINUE',
          stranded.length > 0
            ? `releasing with ${stranded.length} route table(s) and no successor`
            : `${moved} route table(s) handed over first`,
        ),
      );
    }
  }
  return actions;
}

function pointsAt(table: PrivateRouteTable, nat: Assessed): boolean {
  const r = table.defaultRoute;
  if (!r) return false;
  return r.instanceId === nat.instanceId || (r.networkInterfaceId !== undefined && r.networkInterfaceId === nat.instance.networkInterfaceId);
}

function complete(nat: Assessed, hookName: string, result: 'CONTINUE' | 'ABANDON', reason: string): Action {
  return { kind: 'CompleteLifecycle', groupName: nat.groupName, hookName, instanceId: nat.instanceId, result, reason };
}

function assessment(table: PrivateRouteTable, nat: Assessed, serving: 'same-az' | 'cross-az' | 'any-az', reason: string): RouteAssessment {
  return {
    routeTableId: table.routeTableId,
    vpcId: table.vpcId,
    availabilityZone: table.availabilityZones.length === 1 ? table.availabilityZones[0] : undefined,
    currentTarget: table.defaultRoute,
    desiredInstanceId: nat.instanceId,
    serving,
    reason,
  };
}

function keepAsIs(table: PrivateRouteTable, reason: string, serving: 'none' | 'unknown' | 'foreign' = 'none'): RouteAssessment {
  return {
    routeTableId: table.routeTableId,
    vpcId: table.vpcId,
    availabilityZone: table.availabilityZones.length === 1 ? table.availabilityZones[0] : undefined,
    currentTarget: table.defaultRoute,
    desiredInstanceId: undefined,
    serving,
    reason,
  };
}

function publicAssessment(n: Assessed): NatAssessment {
  return {
    instanceId: n.instanceId,
    groupName: n.groupName,
    availabilityZone: n.availabilityZone,
    vpcId: n.vpcId,
    lifecycleState: n.lifecycleState,
    verdict: n.verdict,
    routable: n.routable,
    stable: n.stable,
    lastHeartbeatAt: n.lastHeartbeatAt,
    reason: n.reason,
  };
}

/** Plain code-unit order: deterministic and far cheaper than localeCompare on thousands of ids. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
