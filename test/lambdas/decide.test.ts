import { describe, expect, it } from 'vitest';
import { heartbeatLookbackSeconds } from '../../lambdas/core/assess';
import { decide } from '../../lambdas/core/decide';
import type { Action } from '../../lambdas/core/types';
import { CONFIG, NOW, at, beats, eni, healthyThreeAz, kinds, marked, routesSet, verdictOf, world, type NatSpec, type TableSpec } from './decide-world';

describe('Function: decide', () => {
  it('does nothing when every zone is served by its own healthy NAT', () => {
    const { nats, tables } = healthyThreeAz();
    const plan = decide(world(nats, tables), CONFIG, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.routes.map((r) => r.serving)).toEqual(['same-az', 'same-az', 'same-az']);
    expect(plan.nats.every((n) => n.verdict === 'healthy')).toBe(true);
  });

  describe('silence and explicit failure', () => {
    const cases: { name: string; samples: NatSpec['samples']; verdict: string; marks: boolean; moves: boolean }[] = [
      { name: 'last beat inside the silence window', samples: beats(6, 20), verdict: 'healthy', marks: false, moves: false },
      { name: 'last beat just outside the silence window', samples: beats(6, 26), verdict: 'silent', marks: true, moves: true },
      {
        name: 'a fresh explicit failure after a recent healthy beat',
        samples: [...beats(5, 12), { at: at(-2), value: 0 }],
        verdict: 'failing',
        marks: false,
        moves: true,
      },
      {
        name: 'explicit failures for a whole silence window',
        samples: [...beats(3, 40), { at: at(-22), value: 0 }, { at: at(-12), value: 0 }, { at: at(-2), value: 0 }],
        verdict: 'failing',
        marks: true,
        moves: true,
      },
      { name: 'no heartbeat ever, long after launch', samples: [], verdict: 'silent', marks: true, moves: true },
    ];
    it.each(cases)('$name → $verdict', ({ samples, verdict, marks, moves }) => {
      const { nats, tables } = healthyThreeAz({ a: { samples } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(verdictOf(plan, 'i-a1')).toBe(verdict);
      expect(marked(plan)).toEqual(marks ? ['i-a1'] : []);
      expect(routesSet(plan)['rtb-a'] !== undefined).toBe(moves);
    });

    it('moves a silent NAT’s table to a peer before marking it, and says why', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 60) } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(kinds(plan)).toEqual(['SetRoute', 'SetUnhealthy']);
      const route = plan.actions[0] as Extract<Action, { kind: 'SetRoute' }>;
      expect(route).toMatchObject({ routeTableId: 'rtb-a', mode: 'replace', instanceId: 'i-b1', networkInterfaceId: eni('i-b1'), previousInstanceId: 'i-a1' });
      expect(route.reason).toMatch(/i-a1 is silent/);
      expect(plan.actions[1]).toMatchObject({ kind: 'SetUnhealthy', instanceId: 'i-a1', groupName: 'nat-asg' });
      expect(plan.actions[1]!.reason).toMatch(/no heartbeat for 60 s/);
      expect(plan.routes.find((r) => r.routeTableId === 'rtb-a')?.serving).toBe('cross-az');
      expect(plan.alerts.map((a) => a.kind)).toContain('CrossAzFailover');
    });
  });

  describe('grace period', () => {
    it('leaves a NAT that booted recently and has not beaten yet', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: [], launchedAgo: 120 } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(verdictOf(plan, 'i-a1')).toBe('booting');
      expect(marked(plan)).toEqual([]);
      // Its zone is still served meanwhile, from a healthy peer.
      expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-b1' });
    });

    it('honours the group’s own grace period when it is longer', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: [], launchedAgo: 400 } });
      const snapshot = world(nats, tables);
      expect(marked(decide(snapshot, CONFIG, NOW))).toEqual(['i-a1']);
      snapshot.groups[0]!.healthCheckGracePeriodSeconds = 600;
      expect(marked(decide(snapshot, CONFIG, NOW))).toEqual([]);
    });

    it('marks a NAT that never beat once its grace period is over', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: [], launchedAgo: 301 } });
      expect(marked(decide(world(nats, tables), CONFIG, NOW))).toEqual(['i-a1']);
    });
  });

  describe('where routes go', () => {
    it('creates a missing default route on the same-AZ NAT', () => {
      const { nats } = healthyThreeAz();
      const plan = decide(world(nats, [{ id: 'rtb-a', azs: ['us-east-1a'] }]), CONFIG, NOW);
      expect(plan.actions).toEqual([
        expect.objectContaining({ kind: 'SetRoute', routeTableId: 'rtb-a', mode: 'create', instanceId: 'i-a1' }),
      ]);
    });

    // A target that is not a NAT of this deployment is left alone: decide-ownership.test.ts.
    it.each([
      { name: 'a blackhole', table: { id: 'rtb-a', azs: ['us-east-1a'], to: 'i-gone', blackhole: true } },
      { name: 'a blackholed NAT gateway', table: { id: 'rtb-a', azs: ['us-east-1a'], to: 'nat-0123', blackhole: true } },
    ])('replaces $name, never deleting the route', ({ table }) => {
      const { nats } = healthyThreeAz();
      const plan = decide(world(nats, [table]), CONFIG, NOW);
      expect(plan.actions).toEqual([expect.objectContaining({ kind: 'SetRoute', mode: 'replace', instanceId: 'i-a1' })]);
    });

    it('spreads the tables of a zone with two NATs across both', () => {
      const nats = [
        { id: 'i-a1', az: 'us-east-1a' },
        { id: 'i-a2', az: 'us-east-1a' },
      ];
      const tables = ['rtb-1', 'rtb-2', 'rtb-3', 'rtb-4'].map((id) => ({ id, azs: ['us-east-1a'] }));
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(routesSet(plan)).toEqual({ 'rtb-1': 'i-a1', 'rtb-2': 'i-a2', 'rtb-3': 'i-a1', 'rtb-4': 'i-a2' });
    });

    it('serves a zone without a NAT from the least-loaded peers, deterministically', () => {
      const nats = [
        { id: 'i-a1', az: 'us-east-1a' },
        { id: 'i-b1', az: 'us-east-1b' },
      ];
      const tables: TableSpec[] = [
        { id: 'rtb-a', azs: ['us-east-1a'], to: 'i-a1' },
        { id: 'rtb-b', azs: ['us-east-1b'], to: 'i-b1' },
        { id: 'rtb-c1', azs: ['us-east-1c'] },
        { id: 'rtb-c2', azs: ['us-east-1c'] },
        { id: 'rtb-c3', azs: ['us-east-1c'] },
      ];
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(routesSet(plan)).toEqual({ 'rtb-c1': 'i-a1', 'rtb-c2': 'i-b1', 'rtb-c3': 'i-a1' });
      // The same snapshot in another order gives the same plan.
      const shuffled = decide(world([...nats].reverse(), [...tables].reverse()), CONFIG, NOW);
      expect(shuffled.actions).toEqual(plan.actions);
    });

    it('leaves a table as it is and alerts when no healthy NAT is left in its VPC', () => {
      const nats = [{ id: 'i-a1', az: 'us-east-1a', samples: beats(6, 100) }];
      const plan = decide(world(nats, [{ id: 'rtb-a', azs: ['us-east-1a'], to: 'i-a1' }]), CONFIG, NOW);
      expect(kinds(plan)).toEqual(['SetUnhealthy']);
      expect(plan.routes[0]!.serving).toBe('none');
      expect(plan.alerts.map((a) => a.kind)).toContain('NoHealthyNat');
    });

    it('never routes across VPCs', () => {
      const nats = [
        { id: 'i-a1', az: 'us-east-1a', samples: beats(6, 100) },
        { id: 'i-x1', az: 'us-east-1a', vpcId: 'vpc-2', group: 'other' },
      ];
      const plan = decide(world(nats, [{ id: 'rtb-a', azs: ['us-east-1a'], to: 'i-a1' }]), CONFIG, NOW);
      expect(routesSet(plan)).toEqual({});
    });

    it('does not route to a NAT whose primary interface is unknown', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 100) } });
      const snapshot = world(nats, tables);
      for (const i of snapshot.groups[0]!.instances) if (i.instanceId === 'i-b1') i.networkInterfaceId = undefined;
      expect(routesSet(decide(snapshot, CONFIG, NOW))).toEqual({ 'rtb-a': 'i-c1' });
    });
  });

  describe('failback hysteresis', () => {
    const failedOver = (samplesOfA: NatSpec['samples']) => {
      const { nats, tables } = healthyThreeAz({ a: { samples: samplesOfA } });
      tables[0]!.to = 'i-b1';
      return world(nats, tables);
    };

    it('stays on the cross-AZ NAT while the own-AZ NAT has fewer healthy beats in a row than required', () => {
      const plan = decide(failedOver([{ at: at(-30), value: 0 }, ...beats(2, 2)]), CONFIG, NOW);
      expect(plan.actions).toEqual([]);
      expect(plan.routes[0]).toMatchObject({ serving: 'cross-az', desiredInstanceId: 'i-b1' });
    });

    it('fails back once the own-AZ NAT has the required healthy beats in a row', () => {
      const plan = decide(failedOver([{ at: at(-40), value: 0 }, ...beats(3, 2)]), CONFIG, NOW);
      expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-a1' });
      expect(plan.actions[0]!.reason).toMatch(/failback/);
    });

    it('does not count beats separated by a silent gap as a run', () => {
      const samples = [{ at: at(-80), value: 1 }, { at: at(-40), value: 1 }, ...beats(2, 2)];
      expect(decide(failedOver(samples), CONFIG, NOW).actions).toEqual([]);
    });

    it('moves at once to a stable NAT when the current NAT is the one failing', () => {
      const snapshot = failedOver([{ at: at(-25), value: 0 }, ...beats(1, 2)]);
      snapshot.heartbeats.set('i-b1', [...beats(3, 12), { at: at(-1), value: 0 }]);
      expect(routesSet(decide(snapshot, CONFIG, NOW))).toEqual({ 'rtb-a': 'i-c1', 'rtb-b': 'i-c1' });
    });

    it('takes a NAT that just recovered when no stable one is left', () => {
      const snapshot = failedOver([{ at: at(-25), value: 0 }, ...beats(1, 2)]);
      snapshot.heartbeats.set('i-b1', [...beats(3, 12), { at: at(-1), value: 0 }]);
      snapshot.heartbeats.set('i-c1', [...beats(3, 12), { at: at(-1), value: 0 }]);
      expect(routesSet(decide(snapshot, CONFIG, NOW))).toEqual({ 'rtb-a': 'i-a1', 'rtb-b': 'i-a1', 'rtb-c': 'i-a1' });
    });

    it('serves a zone from a stable peer while its own NAT flaps, and back once it is stable', () => {
      const flapping = [...beats(2, 42), { at: at(-24), value: 0 }, { at: at(-12), value: 1 }, { at: at(-6), value: 0 }, { at: at(-2), value: 1 }];
      const { nats, tables } = healthyThreeAz({ a: { samples: flapping } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(verdictOf(plan, 'i-a1')).toBe('healthy');
      expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-b1' });
      expect(plan.actions[0]!.reason).toMatch(/flapping/);
      expect(marked(plan)).toEqual([]);
      // Three healthy beats in a row later, the table fails back.
      const later = world(healthyThreeAz({ a: { samples: [{ at: at(-34), value: 0 }, ...beats(3, 2)] } }).nats, [
        { id: 'rtb-a', azs: ['us-east-1a'], to: 'i-b1' },
      ]);
      expect(routesSet(decide(later, CONFIG, NOW))).toEqual({ 'rtb-a': 'i-a1' });
    });

    it('keeps the tables of a NAT that failed once and recovered (a blip is not flapping)', () => {
      const blip = [...beats(4, 22), { at: at(-8), value: 0 }, { at: at(-6), value: 1 }, { at: at(-2), value: 1 }];
      const { nats, tables } = healthyThreeAz({ a: { samples: blip } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(plan.nats.find((n) => n.instanceId === 'i-a1')).toMatchObject({ verdict: 'healthy', stable: false });
      expect(plan.actions).toEqual([]);
    });

    it('keeps a flapping NAT’s tables when no stable NAT exists anywhere', () => {
      const flapping = [{ at: at(-24), value: 0 }, { at: at(-2), value: 1 }];
      const plan = decide(world([{ id: 'i-a1', az: 'us-east-1a', samples: flapping }], [{ id: 'rtb-a', azs: ['us-east-1a'], to: 'i-a1' }]), CONFIG, NOW);
      expect(plan.actions).toEqual([]);
    });

    it('does not count a NAT’s boot as a failure', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(1, 2), launchedAgo: 200 } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(plan.nats.find((n) => n.instanceId === 'i-a1')?.stable).toBe(true);
      expect(plan.actions).toEqual([]);
    });
  });

  describe('safety valve', () => {
    it('marks nothing and moves nothing when every NAT is silent at once', () => {
      const { nats, tables } = healthyThreeAz({
        a: { samples: beats(6, 90) },
        b: { samples: beats(6, 90) },
        c: { samples: beats(6, 90) },
      });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(plan.valveTripped).toBe(true);
      expect(plan.actions).toEqual([]);
      expect(plan.alerts.map((a) => a.kind)).toContain('SafetyValveTripped');
    });

    it('keeps routes on whatever still reports healthy when most of the fleet is silent', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) }, b: { samples: beats(6, 90) } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(plan.valveTripped).toBe(true);
      expect(marked(plan)).toEqual([]);
      expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-c1', 'rtb-b': 'i-c1' });
    });

    it('does not trip for one silent NAT among three', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(plan.valveTripped).toBe(false);
      expect(marked(plan)).toEqual(['i-a1']);
    });

    it('still replaces the only NAT of a one-NAT fleet', () => {
      const plan = decide(world([{ id: 'i-a1', az: 'us-east-1a', samples: [] }], []), CONFIG, NOW);
      expect(plan.valveTripped).toBe(false);
      expect(marked(plan)).toEqual(['i-a1']);
    });

    it('follows the configured share', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) }, b: { samples: beats(6, 90) } });
      const plan = decide(world(nats, tables), { ...CONFIG, maxUnhealthyShare: 0.7 }, NOW);
      expect(plan.valveTripped).toBe(false);
      expect(marked(plan)).toEqual(['i-a1', 'i-b1']);
    });
  });

  describe('what is not observed is not acted on', () => {
    it('does nothing when heartbeats could not be read', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: [] } });
      const plan = decide(world(nats, tables, { heartbeatsObserved: false, heartbeats: new Map() }), CONFIG, NOW);
      expect(plan.actions).toEqual([]);
      expect(plan.routes.every((r) => r.serving === 'unknown')).toBe(true);
      expect(plan.alerts.map((a) => a.kind)).toContain('ObservationFailed');
    });

    it('leaves the route tables of a VPC it could not fully observe', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) } });
      const plan = decide(world(nats, tables, { unobservedVpcIds: ['vpc-1'] }), CONFIG, NOW);
      expect(routesSet(plan)).toEqual({});
      expect(plan.routes.every((r) => r.serving === 'unknown')).toBe(true);
    });

    it('does not mark again a NAT its group already marked Unhealthy', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: [], health: 'Unhealthy' } });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(verdictOf(plan, 'i-a1')).toBe('unhealthy');
      expect(marked(plan)).toEqual([]);
      expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-b1' });
    });
  });

  describe('lifecycle hooks', () => {
    it('gives a proven launching NAT its zone, prepared first, then continues its hook', () => {
      const { nats, tables } = healthyThreeAz({ a: { health: 'Unhealthy', samples: [] } });
      tables[0]!.to = 'i-b1';
      nats.push({ id: 'i-a2', az: 'us-east-1a', lifecycle: 'Pending:Wait', launchedAgo: 90, samples: beats(1, 1), sourceDestCheck: true });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(kinds(plan)).toEqual(['DisableSourceDestCheck', 'SetRoute', 'CompleteLifecycle']);
      expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-a2' });
      expect(plan.actions[2]).toMatchObject({ instanceId: 'i-a2', hookName: CONFIG.launchHookName, result: 'CONTINUE' });
    });

    it('waits for a launching NAT’s first heartbeat, then abandons it after the proof timeout', () => {
      const { nats, tables } = healthyThreeAz();
      nats.push({ id: 'i-a2', az: 'us-east-1a', lifecycle: 'Pending:Wait', launchedAgo: 120, samples: [] });
      expect(decide(world(nats, tables), CONFIG, NOW).actions).toEqual([]);
      nats[3]!.launchedAgo = CONFIG.launchProofTimeoutSeconds + 1;
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(plan.actions).toEqual([expect.objectContaining({ kind: 'CompleteLifecycle', instanceId: 'i-a2', result: 'ABANDON' })]);
    });

    it('does not abandon a launching NAT that EC2 does not list yet, only one that is gone', () => {
      const { nats, tables } = healthyThreeAz();
      nats.push({ id: 'i-a2', az: 'us-east-1a', lifecycle: 'Pending:Wait', launchedAgo: 5, samples: [] });
      const snapshot = world(nats, tables);
      const launching = snapshot.groups[0]!.instances.find((i) => i.instanceId === 'i-a2')!;
      launching.ec2State = undefined;
      launching.launchTime = undefined;
      expect(decide(snapshot, CONFIG, NOW).actions).toEqual([]);
      launching.ec2State = 'terminated';
      expect(decide(snapshot, CONFIG, NOW).actions).toEqual([
        expect.objectContaining({ kind: 'CompleteLifecycle', instanceId: 'i-a2', result: 'ABANDON', reason: 'launching instance is terminated' }),
      ]);
    });

    it('does not let a launching NAT that reports a failure take routes', () => {
      const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) } });
      nats.push({ id: 'i-a2', az: 'us-east-1a', lifecycle: 'Pending:Wait', launchedAgo: 60, samples: [{ at: at(-1), value: 0 }] });
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-b1' });
      expect(plan.actions.some((a) => a.kind === 'CompleteLifecycle')).toBe(false);
    });

    it('hands a leaving NAT’s tables over before continuing its terminate hook', () => {
      const { nats, tables } = healthyThreeAz({ a: { lifecycle: 'Terminating:Wait' } });
      tables.push({ id: 'rtb-c2', azs: ['us-east-1c'], to: 'i-a1' }); // a table failed over to it earlier
      const plan = decide(world(nats, tables), CONFIG, NOW);
      expect(kinds(plan)).toEqual(['SetRoute', 'SetRoute', 'CompleteLifecycle']);
      expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-b1', 'rtb-c2': 'i-c1' });
      expect(plan.actions[2]).toMatchObject({ hookName: CONFIG.terminateHookName, instanceId: 'i-a1', result: 'CONTINUE' });
    });

    it('continues a leaving NAT with no successor, and alerts', () => {
      const plan = decide(
        world([{ id: 'i-a1', az: 'us-east-1a', lifecycle: 'Terminating:Wait' }], [{ id: 'rtb-a', azs: ['us-east-1a'], to: 'i-a1' }]),
        CONFIG,
        NOW,
      );
      expect(plan.actions).toEqual([expect.objectContaining({ kind: 'CompleteLifecycle', result: 'CONTINUE' })]);
      expect(plan.alerts.map((a) => a.kind)).toContain('LeavingWithoutSuccessor');
    });

    it('waits with a leaving NAT whose VPC could not be observed', () => {
      const { nats, tables } = healthyThreeAz({ a: { lifecycle: 'Terminating:Wait' } });
      const plan = decide(world(nats, tables, { unobservedVpcIds: ['vpc-1'] }), CONFIG, NOW);
      expect(plan.actions).toEqual([]);
    });
  });

  describe('preparing NATs', () => {
    it('turns source/dest check off on a serving NAT that has it on', () => {
      const { nats, tables } = healthyThreeAz({ b: { sourceDestCheck: true } });
      expect(decide(world(nats, tables), CONFIG, NOW).actions).toEqual([
        expect.objectContaining({ kind: 'DisableSourceDestCheck', instanceId: 'i-b1' }),
      ]);
    });

    it('moves a pinned Elastic IP from a leaving NAT to its zone’s successor', () => {
      const { nats, tables } = healthyThreeAz({ a: { lifecycle: 'Terminating:Wait' } });
      nats.push({ id: 'i-a2', az: 'us-east-1a', lifecycle: 'Pending:Wait', launchedAgo: 30, samples: [] });
      const snapshot = world(nats, tables, { elasticIps: [{ allocationId: 'eipalloc-a', instanceId: 'i-a1' }] });
      snapshot.groups[0]!.elasticIps = { 'us-east-1a': 'eipalloc-a' };
      const plan = decide(snapshot, CONFIG, NOW);
      expect(plan.actions[0]).toMatchObject({ kind: 'AssociateElasticIp', allocationId: 'eipalloc-a', instanceId: 'i-a2', networkInterfaceId: eni('i-a2') });
    });

    it('recognises a pinned Elastic IP associated by network interface only', () => {
      const { nats, tables } = healthyThreeAz();
      const snapshot = world(nats, tables, { elasticIps: [{ allocationId: 'eipalloc-a', networkInterfaceId: eni('i-a1') }] });
      snapshot.groups[0]!.elasticIps = { 'us-east-1a': 'eipalloc-a' };
      expect(decide(snapshot, CONFIG, NOW).actions).toEqual([]);
    });

    it('leaves a pinned Elastic IP where it serves', () => {
      const { nats, tables } = healthyThreeAz();
      const snapshot = world(nats, tables, { elasticIps: [{ allocationId: 'eipalloc-a', instanceId: 'i-a1' }] });
      snapshot.groups[0]!.elasticIps = { 'us-east-1a': 'eipalloc-a' };
      expect(decide(snapshot, CONFIG, NOW).actions).toEqual([]);
    });
  });

  it('is pure: the same snapshot gives the same plan and is not modified', () => {
    const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) } });
    const snapshot = world(nats, tables);
    const before = JSON.stringify([...snapshot.heartbeats], null, 0) + JSON.stringify(snapshot.routeTables);
    const first = decide(snapshot, CONFIG, NOW);
    const second = decide(snapshot, CONFIG, NOW);
    expect(second).toEqual(first);
    expect(JSON.stringify([...snapshot.heartbeats], null, 0) + JSON.stringify(snapshot.routeTables)).toBe(before);
  });

  it('lists NATs that missed their beat, with the moment their silence window ends', () => {
    const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 14) }, b: { samples: beats(6, 12) } });
    const plan = decide(world(nats, tables), CONFIG, NOW);
    expect(plan.actions).toEqual([]);
    expect(plan.overdue).toEqual([{ instanceId: 'i-a1', silentAt: new Date(at(-14).getTime() + 25_500) }]);
  });

  it('reads heartbeats far enough back to judge silence and failback', () => {
    expect(heartbeatLookbackSeconds(CONFIG)).toBe(25 + 4 * 10);
  });
});
