/**
 * Invariants of decide() over random fleets: NATs in any lifecycle, health and EC2 state with any
 * heartbeat history, route tables pointing anywhere, pinned Elastic IPs held by anyone.
 * NATBEAT_PROPERTY_RUNS sets the number of cases per property (mutation runs use fewer).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../lambdas/core/decide';
import type { Action, HeartbeatSample, ManagedGroup, NatInstance, Plan, PrivateRouteTable, Snapshot, WitnessReport } from '../../lambdas/core/types';
import { CONFIG, NOW, at, beats, healthyThreeAz, world } from './decide-world';

const RUNS = Number(process.env.NATBEAT_PROPERTY_RUNS ?? 400);
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const VPCS = ['vpc-1', 'vpc-2'];
const GROUPS = ['nat-1', 'nat-2'];

const sampleArb = fc.record({ ago: fc.integer({ min: 0, max: 90 }), value: fc.constantFrom(0, 1, 1, 1) });
const natArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  group: fc.constantFrom(...GROUPS),
  lifecycle: fc.constantFrom('InService', 'InService', 'InService', 'Pending:Wait', 'Pending:Proceed', 'Terminating:Wait', 'Standby'),
  health: fc.constantFrom('Healthy', 'Healthy', 'Healthy', 'Unhealthy'),
  ec2State: fc.constantFrom<string | undefined>('running', 'running', 'running', 'running', 'stopped', 'shutting-down', undefined),
  launchedAgo: fc.constantFrom<number | undefined>(10, 200, 299, 300, 400, 600, 3600, undefined),
  eniMissing: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  sourceDestCheck: fc.boolean(),
  samples: fc.array(sampleArb, { maxLength: 8 }),
});
const routeArb = fc.oneof(
  fc.record({ kind: fc.constant('none' as const) }),
  fc.record({ kind: fc.constant('nat' as const), index: fc.nat(9), byEniOnly: fc.boolean(), blackhole: fc.boolean() }),
  fc.record({ kind: fc.constant('gateway' as const) }),
);
const tableArb = fc.record({
  vpc: fc.constantFrom(...VPCS),
  zones: fc.oneof(fc.constantFrom(...ZONES).map((z) => [z]), fc.subarray(ZONES, { maxLength: 2 })),
  route: routeArb,
});
const eipArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  group: fc.constantFrom(...GROUPS),
  holder: fc.oneof(fc.constant(undefined), fc.record({ index: fc.nat(9), by: fc.constantFrom('instance', 'eni', 'both') })),
});

const worldArb = fc
  .record({
    nats: fc.array(natArb, { maxLength: 7 }),
    tables: fc.array(tableArb, { maxLength: 6 }),
    eips: fc.array(eipArb, { maxLength: 4 }),
    groupVpc: fc.record({ 'nat-1': fc.constantFrom(...VPCS), 'nat-2': fc.constantFrom(...VPCS) }),
    groupGrace: fc.constantFrom(0, 0, 400),
    unobserved: fc.subarray(VPCS, { maxLength: 1 }),
  })
  .map(({ nats, tables, eips, groupVpc, groupGrace, unobserved }): Snapshot => {
    const groups = new Map<string, ManagedGroup>(
      GROUPS.map((name) => [name, { name, healthCheckGracePeriodSeconds: groupGrace, vpcIds: [groupVpc[name as 'nat-1']], instances: [], elasticIps: {} }]),
    );
    const heartbeats = new Map<string, HeartbeatSample[]>();
    const instances: NatInstance[] = nats.map((n, i) => {
      const instanceId = `i-${String(i).padStart(2, '0')}`;
      const group = groups.get(n.group)!;
      const instance: NatInstance = {
        instanceId,
        groupName: n.group,
        availabilityZone: n.zone,
        lifecycleState: n.lifecycle,
        healthStatus: n.health,
        ec2State: n.ec2State,
        launchTime: n.launchedAgo === undefined ? undefined : at(-n.launchedAgo),
        vpcId: group.vpcIds[0],
        networkInterfaceId: n.eniMissing ? undefined : `eni-${i}`,
        sourceDestCheck: n.sourceDestCheck,
      };
      group.instances.push(instance);
      const times = [...new Map(n.samples.map((s) => [s.ago, s.value]))].sort(([a], [b]) => b - a);
      heartbeats.set(instanceId, times.map(([ago, value]) => ({ at: at(-ago), value })));
      return instance;
    });
    const routeTables: PrivateRouteTable[] = tables.map((t, i) => {
      const target = t.route.kind === 'nat' ? instances[t.route.index % Math.max(1, instances.length)] : undefined;
      let defaultRoute: PrivateRouteTable['defaultRoute'];
      if (t.route.kind === 'gateway') defaultRoute = { natGatewayId: 'nat-0abc', state: 'active' };
      else if (t.route.kind === 'nat') {
        defaultRoute = target
          ? {
              instanceId: t.route.byEniOnly ? undefined : target.instanceId,
              networkInterfaceId: target.networkInterfaceId ?? `eni-${target.instanceId}`,
              state: t.route.blackhole ? 'blackhole' : 'active',
            }
          : { instanceId: 'i-gone', state: 'blackhole' };
      }
      return { routeTableId: `rtb-${i}`, vpcId: t.vpc, availabilityZones: t.zones, defaultRoute };
    });
    const elasticIps: Snapshot['elasticIps'] = [];
    for (const e of eips) {
      const allocationId = `eipalloc-${e.group}-${e.zone}`;
      groups.get(e.group)!.elasticIps[e.zone] = allocationId;
      if (elasticIps.some((a) => a.allocationId === allocationId)) continue;
      const holder = e.holder && instances.length > 0 ? instances[e.holder.index % instances.length]! : undefined;
      if (!holder) continue;
      elasticIps.push({
        allocationId,
        instanceId: e.holder!.by === 'eni' ? undefined : holder.instanceId,
        networkInterfaceId: e.holder!.by === 'instance' ? undefined : holder.networkInterfaceId,
      });
    }
    return {
      observedAt: NOW,
      groups: [...groups.values()].filter((g) => g.instances.length > 0 || Object.keys(g.elasticIps).length > 0),
      heartbeats,
      heartbeatsObserved: true,
      routeTables,
      unobservedVpcIds: unobserved,
      elasticIps,
      failures: [],
    };
  });

const instancesOf = (snapshot: Snapshot) => snapshot.groups.flatMap((g) => g.instances);
const setRoutes = (plan: Plan) => plan.actions.filter((a): a is Extract<Action, { kind: 'SetRoute' }> => a.kind === 'SetRoute');
/** Each route the plan sets, with the table it is in as the snapshot saw it. */
const routesWithTables = (snapshot: Snapshot, plan: Plan) =>
  setRoutes(plan).map((route) => ({ route, table: snapshot.routeTables.find((t) => t.routeTableId === route.routeTableId)! }));

/** What the world looks like right after act() carried out a plan (same instant, nothing else changed). */
function apply(snapshot: Snapshot, plan: Plan): Snapshot {
  const next = structuredClone(snapshot);
  const instance = (id: string) => instancesOf(next).find((i) => i.instanceId === id)!;
  for (const action of plan.actions) {
    switch (action.kind) {
      case 'SetRoute':
        next.routeTables.find((t) => t.routeTableId === action.routeTableId)!.defaultRoute = {
          instanceId: action.instanceId,
          networkInterfaceId: action.networkInterfaceId,
          state: 'active',
        };
        break;
      case 'AssociateElasticIp':
        // EC2 moves the address, and an interface's primary address holds one Elastic IP at most.
        next.elasticIps = next.elasticIps.filter((a) => a.allocationId !== action.allocationId && a.networkInterfaceId !== action.networkInterfaceId);
        next.elasticIps.push({ allocationId: action.allocationId, instanceId: action.instanceId, networkInterfaceId: action.networkInterfaceId });
        break;
      case 'DisableSourceDestCheck':
        instance(action.instanceId).sourceDestCheck = false;
        break;
      case 'SetUnhealthy':
        instance(action.instanceId).healthStatus = 'Unhealthy';
        break;
      case 'CompleteLifecycle': {
        const target = instance(action.instanceId);
        if (action.result === 'ABANDON') target.lifecycleState = 'Terminating';
        else target.lifecycleState = target.lifecycleState === 'Pending:Wait' ? 'Pending:Proceed' : 'Terminating:Proceed';
        break;
      }
    }
  }
  return next;
}

/** A plan with its lists in a canonical order: the order within one kind of action is not meaningful. */
function canonical(plan: Plan) {
  const byJson = <T>(items: T[]) => items.map((i) => JSON.stringify(i)).sort();
  return {
    kinds: plan.actions.map((a) => a.kind).filter((k, i, all) => all[i - 1] !== k),
    actions: byJson(plan.actions),
    // Alert wording may list resources in the order they were seen; kind and resources must agree.
    alerts: byJson(plan.alerts.map((a) => ({ kind: a.kind, resourceIds: [...a.resourceIds].sort() }))),
    nats: byJson(plan.nats),
    routes: byJson(plan.routes),
    valveTripped: plan.valveTripped,
    overdue: byJson(plan.overdue), // ties (the same moment) come in any order
  };
}

describe('Properties of decide()', () => {
  it('routes a table only to a NAT that is healthy now, in its VPC, not leaving, and proved if launching', () => {
    fc.assert(
      fc.property(worldArb, (snapshot) => {
        const plan = decide(snapshot, CONFIG, NOW);
        for (const { route, table } of routesWithTables(snapshot, plan)) {
          const target = instancesOf(snapshot).find((i) => i.instanceId === route.instanceId)!;
          const verdict = plan.nats.find((n) => n.instanceId === route.instanceId)!;
          expect(verdict).toMatchObject({ verdict: 'healthy', routable: true });
          expect(target.vpcId).toBe(table.vpcId);
          expect(target.ec2State).toBe('running');
          expect(target.healthStatus).toBe('Healthy');
          expect(['InService', 'Pending', 'Pending:Wait', 'Pending:Proceed']).toContain(target.lifecycleState);
          expect(route.networkInterfaceId).toBe(target.networkInterfaceId);
          // Proved: its latest beat is healthy and within the silence window.
          const latest = snapshot.heartbeats.get(target.instanceId)!.at(-1)!;
          expect(latest.value).toBe(1);
          expect(NOW.getTime() - latest.at.getTime()).toBeLessThanOrEqual(CONFIG.silenceSeconds * 1000);
          expect(snapshot.unobservedVpcIds).not.toContain(table.vpcId);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('never moves a table off a healthy NAT of its own AZ, unless that NAT is flapping', () => {
    fc.assert(
      fc.property(worldArb, (snapshot) => {
        const plan = decide(snapshot, CONFIG, NOW);
        for (const { route, table } of routesWithTables(snapshot, plan)) {
          const current = plan.nats.find((n) => n.instanceId === route.previousInstanceId);
          if (!current || current.verdict !== 'healthy' || current.vpcId !== table.vpcId) continue;
          if (table.defaultRoute?.state === 'blackhole') continue;
          if (!table.availabilityZones.includes(current.availabilityZone)) continue;
          expect(route.reason).toMatch(/is flapping/);
          expect(current.stable).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('changes no route, address or NAT setting when run again on the world its plan made', () => {
    fc.assert(
      fc.property(worldArb, (snapshot) => {
        const again = decide(apply(snapshot, decide(snapshot, CONFIG, NOW)), CONFIG, NOW);
        expect(again.actions.filter((a) => a.kind !== 'CompleteLifecycle' && a.kind !== 'SetUnhealthy')).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the same plan for the same snapshot in any array order', () => {
    fc.assert(
      fc.property(worldArb, fc.integer(), (snapshot, seed) => {
        const shuffle = <T>(items: T[]) => fc.sample(fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length }), { numRuns: 1, seed })[0]!;
        const shuffled: Snapshot = {
          ...snapshot,
          groups: shuffle(snapshot.groups.map((g) => ({ ...g, instances: shuffle(g.instances), elasticIps: Object.fromEntries(shuffle(Object.entries(g.elasticIps))) }))),
          routeTables: shuffle(snapshot.routeTables),
          elasticIps: shuffle(snapshot.elasticIps),
          heartbeats: new Map(shuffle([...snapshot.heartbeats])),
        };
        expect(canonical(decide(shuffled, CONFIG, NOW))).toEqual(canonical(decide(snapshot, CONFIG, NOW)));
      }),
      { numRuns: RUNS },
    );
  });

  it('trips the safety valve exactly when more than one and more than the share of in-service, judged NATs are to be marked', () => {
    fc.assert(
      fc.property(worldArb, fc.constantFrom(0.25, 0.5, 0.75), (snapshot, share) => {
        const config = { ...CONFIG, maxUnhealthyShare: share };
        const plan = decide(snapshot, config, NOW);
        const fleet = plan.nats.filter((n) => n.lifecycleState === 'InService' && ['healthy', 'failing', 'silent'].includes(n.verdict));
        // Marked when the valve is open: silent or failing, past grace, no healthy beat in the window.
        const open = decide(snapshot, { ...config, maxUnhealthyShare: 1 }, NOW);
        const toMark = open.actions.filter((a) => a.kind === 'SetUnhealthy').length;
        const expected = toMark > 1 && toMark > share * fleet.length;
        expect(plan.valveTripped).toBe(expected);
        expect(plan.alerts.some((a) => a.kind === 'SafetyValveTripped')).toBe(expected);
        expect(plan.actions.filter((a) => a.kind === 'SetUnhealthy').length).toBe(expected ? 0 : toMark);
        // The valve holds back marks only: routes move either way.
        expect(setRoutes(plan)).toEqual(setRoutes(open));
      }),
      { numRuns: RUNS },
    );
  });

  // Witness reports: any NAT may name any other (itself included), at any time in the window; the
  // first few NATs are named most, so that several reports about one NAT are common.
  const witnessedArb = fc
    .tuple(worldArb, fc.array(fc.record({ subject: fc.nat(2), witness: fc.nat(9), ago: fc.integer({ min: 0, max: 20 }) }), { maxLength: 12 }))
    .map(([snapshot, said]) => {
      const ids = instancesOf(snapshot).map((i) => i.instanceId);
      const witnesses = new Map<string, WitnessReport[]>();
      if (ids.length > 0) {
        for (const r of said) {
          const subject = ids[r.subject % ids.length]!;
          witnesses.set(subject, [...(witnesses.get(subject) ?? []), { witnessId: ids[r.witness % ids.length]!, at: at(-r.ago) }]);
        }
      }
      return { without: snapshot, with: { ...snapshot, witnesses } };
    });
  const overdueMs = (CONFIG.heartbeatPeriodSeconds + CONFIG.heartbeatSlackSeconds) * 1000;

  it('witness reports never cause SetUnhealthy: the marks are those of the NATs’ own beats', () => {
    fc.assert(
      fc.property(witnessedArb, (world) => {
        const marks = (plan: Plan) => plan.actions.filter((a) => a.kind === 'SetUnhealthy');
        const plan = decide(world.with, CONFIG, NOW);
        expect(marks(plan)).toEqual(marks(decide(world.without, CONFIG, NOW)));
        for (const n of plan.nats.filter((x) => x.verdict === 'unreachable')) expect(marks(plan).map((a) => a.instanceId)).not.toContain(n.instanceId);
      }),
      { numRuns: RUNS },
    );
  });

  it('a NAT with a fresh beat never loses its own-AZ tables because of witnesses', () => {
    fc.assert(
      fc.property(witnessedArb, (world) => {
        const plan = decide(world.with, CONFIG, NOW);
        const alone = new Set(setRoutes(decide(world.without, CONFIG, NOW)).map((r) => r.routeTableId));
        for (const { route, table } of routesWithTables(world.with, plan)) {
          const previous = instancesOf(world.with).find((i) => i.instanceId === route.previousInstanceId);
          const latest = previous && world.with.heartbeats.get(previous.instanceId)?.at(-1);
          if (!previous || !latest || NOW.getTime() - latest.at.getTime() > overdueMs) continue;
          if (!table.availabilityZones.includes(previous.availabilityZone)) continue;
          // Moved with the reports only if it moves without them too (a failure or flapping of its own).
          expect(alone).toContain(route.routeTableId);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('with witness reports too, changes no route when run again on the world its plan made', () => {
    fc.assert(
      fc.property(witnessedArb, (world) => {
        const next = apply(world.with, decide(world.with, CONFIG, NOW));
        const again = decide({ ...next, witnesses: world.with.witnesses }, CONFIG, NOW);
        expect(again.actions.filter((a) => a.kind === 'SetRoute')).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  // Denser: three zones, one NAT and one table each, every NAT past grace; only the beat ages and the
  // reports vary, so fresh-but-named NATs (the partition) and overdue ones come up in most cases.
  const threeZoneArb = fc
    .tuple(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 3, maxLength: 3 }), fc.array(fc.record({ subject: fc.nat(2), witness: fc.nat(2), ago: fc.integer({ min: 0, max: 16 }) }), { maxLength: 6 }))
    .map(([ages, said]) => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, ages[0]) }, b: { samples: beats(6, ages[1]) }, c: { samples: beats(6, ages[2]) } });
      const ids = nats.map((n) => n.id);
      const witnesses = new Map<string, WitnessReport[]>();
      for (const r of said) witnesses.set(ids[r.subject]!, [...(witnesses.get(ids[r.subject]!) ?? []), { witnessId: ids[r.witness]!, at: at(-r.ago) }]);
      return { ages, ids, snapshot: world(nats, tables, { witnesses }) };
    });

  it('three zones, any beats, any reports: a NAT whose beat is on time keeps its table, and no report marks', () => {
    fc.assert(
      fc.property(threeZoneArb, ({ ages, ids, snapshot }) => {
        const plan = decide(snapshot, CONFIG, NOW);
        const moved = new Set(setRoutes(plan).map((r) => r.routeTableId));
        ids.forEach((id, k) => {
          if (ages[k]! * 1000 <= overdueMs) expect(moved).not.toContain(`rtb-${id.slice(2, 3)}`);
        });
        // Marked: exactly the NATs silent for a whole window (none when the valve holds them all back).
        const silent = ids.filter((_, k) => ages[k]! > CONFIG.silenceSeconds);
        const valve = silent.length > 1 && silent.length > CONFIG.maxUnhealthyShare * ids.length;
        expect(plan.actions.filter((a) => a.kind === 'SetUnhealthy').map((a) => (a as { instanceId: string }).instanceId)).toEqual(valve ? [] : silent);
      }),
      { numRuns: RUNS },
    );
  });
});
