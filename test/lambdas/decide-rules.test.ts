/**
 * One table per controller rule: situations and the plan decide() must produce for each. Every
 * situation is built so that the rule under test is the one that decides it (the own-AZ NAT is
 * neither first by name nor least loaded, the valve sits exactly at its share, …).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../lambdas/core/decide';
import type { Snapshot } from '../../lambdas/core/types';
import {
  CONFIG,
  NOW,
  alertKinds,
  at,
  beats,
  healthyThreeAz,
  kinds,
  marked,
  routesSet,
  verdictOf,
  world,
  type NatSpec,
  type TableSpec,
} from './decide-world';

const AZ = (z: string) => `us-east-1${z}`;
const nat = (id: string, z: string, spec: Partial<NatSpec> = {}): NatSpec => ({ id, az: AZ(z), ...spec });
const table = (id: string, z: string, to?: string): TableSpec => ({ id, azs: [AZ(z)], to });
const plan = (nats: NatSpec[], tables: TableSpec[], extra: Partial<Snapshot> = {}) => decide(world(nats, tables, extra), CONFIG, NOW);

describe('Rule: a table goes to a NAT of its own AZ first', () => {
  it.each([
    {
      name: 'a table without a route, while its zone’s NAT is last by name and the busiest',
      nats: [nat('i-a1', 'a'), nat('i-b1', 'b'), nat('i-c9', 'c')],
      tables: [table('rtb-c1', 'c', 'i-c9'), table('rtb-c2', 'c')],
      expected: { 'rtb-c2': 'i-c9' },
    },
    {
      name: 'a table whose NAT failed, while another NAT of its zone is busier than the peers',
      nats: [nat('i-a1', 'a'), nat('i-b1', 'b'), nat('i-c1', 'c', { samples: beats(6, 90) }), nat('i-c9', 'c')],
      tables: [table('rtb-c1', 'c', 'i-c1'), table('rtb-c2', 'c', 'i-c9')],
      expected: { 'rtb-c1': 'i-c9' },
    },
    {
      name: 'a failback, while its zone’s NAT is busier than another stable peer',
      nats: [nat('i-a1', 'a'), nat('i-b1', 'b'), nat('i-c9', 'c')],
      tables: [table('rtb-c1', 'c', 'i-a1'), table('rtb-c2', 'c', 'i-c9')],
      expected: { 'rtb-c1': 'i-c9' },
    },
  ])('$name', ({ nats, tables, expected }) => {
    const result = plan(nats, tables);
    expect(routesSet(result)).toEqual(expected);
    expect(alertKinds(result)).not.toContain('CrossAzFailover');
    expect(alertKinds(result)).not.toContain('NoHealthyNat');
  });
});

describe('Rule: failback needs failbackHeartbeats healthy beats in a row', () => {
  // rtb-a was failed over to i-b1; does it come back to i-a1?
  const failback = (samplesOfA: NatSpec['samples'], launchedAgo = 3600) =>
    routesSet(plan([nat('i-a1', 'a', { samples: samplesOfA, launchedAgo }), nat('i-b1', 'b')], [table('rtb-a', 'a', 'i-b1'), table('rtb-b', 'b', 'i-b1')]));

  it.each([
    { name: 'back from a silence with 2 beats: stays', samples: beats(2, 2), back: false },
    { name: 'back from a silence with 3 beats: fails back', samples: beats(3, 2), back: true },
    // A gap longer than a period and its slack (10 + 3 s here) is a failure episode: the NAT was
    // overdue, and may have lost its tables on a witness's word; it proves itself again first.
    { name: 'beats 13 s apart are no gap: no failure at all, fails back', samples: [-62, -52, -42, -32, -19, -6].map((t) => ({ at: at(t), value: 1 })), back: true },
    { name: 'a gap of 13.001 s between beats is an episode: 2 beats since, stays', samples: [-62, -52, -42, -32, -18.999, -5.998].map((t) => ({ at: at(t), value: 1 })), back: false },
    { name: 'a gap of 20 s, then 3 beats: fails back', samples: [-62, -52, -42, -22, -12, -2].map((t) => ({ at: at(t), value: 1 })), back: true },
    {
      name: 'a failure, then 3 beats 13 s apart: a run of 3, fails back',
      samples: [{ at: at(-41), value: 0 }, { at: at(-28), value: 1 }, { at: at(-15), value: 1 }, { at: at(-2), value: 1 }],
      back: true,
    },
    {
      name: 'a failure, then 3 beats with a gap over 13 s: no run of 3, stays',
      samples: [{ at: at(-41.002), value: 0 }, { at: at(-28.002), value: 1 }, { at: at(-15.001), value: 1 }, { at: at(-2), value: 1 }],
      back: false,
    },
  ])('$name', ({ samples, back }) => {
    expect(failback(samples)).toEqual(back ? { 'rtb-a': 'i-a1' } : {});
  });

  it('a NAT still in its grace period is not failing before its first beat: one beat is enough', () => {
    expect(failback(beats(1, 2), 200)).toEqual({ 'rtb-a': 'i-a1' });
  });
});

describe('Rule: only a NAT that failed more than once and is not stable again is flapping', () => {
  it.each([
    {
      name: 'two failures, then 3 healthy beats in a row: stable, keeps its table',
      samples: [{ at: at(-60), value: 0 }, { at: at(-50), value: 1 }, { at: at(-40), value: 0 }, ...beats(3, 2)],
      moves: false,
      stable: true,
    },
    {
      name: 'one long outage of five failed beats, then a recovery: one episode, keeps its table',
      samples: [{ at: at(-62), value: 1 }, ...[52, 42, 32, 22, 12].map((s) => ({ at: at(-s), value: 0 })), { at: at(-2), value: 1 }],
      moves: false,
      stable: false,
    },
    {
      name: 'two failures, recovered once: flapping, its table moves to a stable peer',
      samples: [{ at: at(-60), value: 1 }, { at: at(-50), value: 0 }, { at: at(-40), value: 1 }, { at: at(-12), value: 0 }, { at: at(-2), value: 1 }],
      moves: true,
      stable: false,
    },
  ])('$name', ({ samples, moves, stable }) => {
    const { nats, tables } = healthyThreeAz({ a: { samples } });
    const result = plan(nats, tables);
    expect(result.nats.find((n) => n.instanceId === 'i-a1')).toMatchObject({ verdict: 'healthy', stable });
    expect(routesSet(result)).toEqual(moves ? { 'rtb-a': 'i-b1' } : {});
    expect(marked(result)).toEqual([]);
  });
});

describe('Rule: the safety valve trips when more than maxUnhealthyShare of the in-service fleet is silent', () => {
  const silent = (id: string, z: string) => nat(id, z, { samples: beats(6, 90) });
  const fleetOf = (...extra: NatSpec[]) => [silent('i-a1', 'a'), silent('i-b1', 'b'), nat('i-c1', 'c'), ...extra];

  it.each([
    { name: '2 silent of 4 (exactly the share): does not trip', nats: fleetOf(nat('i-d1', 'd')), tripped: false },
    { name: '3 silent of 5: trips', nats: fleetOf(silent('i-d1', 'd'), nat('i-e1', 'e')), tripped: true },
    { name: '2 silent of 3: trips', nats: fleetOf(), tripped: true },
    // None of these is part of the fleet the share is taken of: 2 of 3 still trips.
    { name: '2 silent of 3, plus a booting NAT', nats: fleetOf(nat('i-d1', 'd', { samples: [], launchedAgo: 60 })), tripped: true },
    { name: '2 silent of 3, plus a NAT whose EC2 state is stopping', nats: fleetOf(nat('i-d1', 'd', { ec2State: 'stopping' })), tripped: true },
    { name: '2 silent of 3, plus a NAT in Terminating:Wait', nats: fleetOf(nat('i-d1', 'd', { lifecycle: 'Terminating:Wait' })), tripped: true },
    { name: '2 silent of 3, plus a NAT already marked Unhealthy', nats: fleetOf(nat('i-d1', 'd', { health: 'Unhealthy' })), tripped: true },
    {
      name: '2 silent of 3, plus a healthy NAT still in its launch hook',
      nats: fleetOf(nat('i-d1', 'd', { lifecycle: 'Pending:Wait', launchedAgo: 60, samples: beats(1, 2) })),
      tripped: true,
    },
  ])('$name', ({ nats, tripped }) => {
    const result = plan(nats, [table('rtb-a', 'a', 'i-a1')]);
    expect(result.valveTripped).toBe(tripped);
    const silentIds = nats.filter((n) => n.samples?.length === 6 && n.samples[5]!.at < at(-80)).map((n) => n.id);
    expect(marked(result)).toEqual(tripped ? [] : silentIds);
    if (tripped) expect(alertKinds(result)).toContain('SafetyValveTripped');
    else expect(alertKinds(result)).not.toContain('SafetyValveTripped');
    // Routes move off silent NATs either way.
    expect(routesSet(result)).toEqual({ 'rtb-a': 'i-c1' });
  });

  it('counts a NAT that keeps reporting failures as one to mark', () => {
    const failing = [...beats(2, 40), ...[22, 12, 2].map((s) => ({ at: at(-s), value: 0 }))];
    const result = plan(fleetOf().slice(1).concat(nat('i-a1', 'a', { samples: failing })), []);
    expect(result.valveTripped).toBe(true);
  });
});

describe('Rule: which lifecycle and EC2 states may serve', () => {
  it.each(['InService', 'Pending', 'Pending:Wait', 'Pending:Proceed'])('a healthy NAT in %s keeps the table routed to it', (lifecycle) => {
    const result = plan([nat('i-a1', 'a', { lifecycle, launchedAgo: 60, samples: beats(2, 2) }), nat('i-b1', 'b')], [table('rtb-a', 'a', 'i-a1')]);
    expect(verdictOf(result, 'i-a1')).toBe('healthy');
    expect(routesSet(result)).toEqual({});
  });

  it.each(['Terminating', 'Terminating:Wait', 'Terminating:Proceed', 'Detaching', 'Detached', 'EnteringStandby', 'Standby', 'Terminated', 'Warmed:Pending'])(
    'a NAT in %s is leaving: its table moves even while it beats',
    (lifecycle) => {
      const result = plan([nat('i-a1', 'a', { lifecycle }), nat('i-b1', 'b')], [table('rtb-a', 'a', 'i-a1')]);
      expect(verdictOf(result, 'i-a1')).toBe('leaving');
      expect(routesSet(result)).toEqual({ 'rtb-a': 'i-b1' });
      expect(marked(result)).toEqual([]);
    },
  );

  it.each(['pending', 'stopping', 'stopped', 'shutting-down', 'terminated', undefined])('an in-service NAT whose EC2 state is %s does not serve', (ec2State) => {
    const nats = [nat('i-a1', 'a'), nat('i-b1', 'b')];
    const snapshot = world(nats, [table('rtb-a', 'a', 'i-a1')]);
    snapshot.groups[0]!.instances[0]!.ec2State = ec2State;
    const result = decide(snapshot, CONFIG, NOW);
    expect(verdictOf(result, 'i-a1')).toBe('leaving');
    expect(routesSet(result)).toEqual({ 'rtb-a': 'i-b1' });
  });

  it.each([
    { ec2State: 'stopping', abandon: true },
    { ec2State: 'stopped', abandon: true },
    { ec2State: 'shutting-down', abandon: true },
    { ec2State: 'terminated', abandon: true },
    { ec2State: 'pending', abandon: false },
    { ec2State: undefined, abandon: false },
  ])('a launching NAT whose EC2 state is $ec2State: abandoned at once = $abandon', ({ ec2State, abandon }) => {
    const snapshot = world([nat('i-a1', 'a', { lifecycle: 'Pending:Wait', launchedAgo: 10, samples: [] })], []);
    snapshot.groups[0]!.instances[0]!.ec2State = ec2State;
    const result = decide(snapshot, CONFIG, NOW);
    expect(result.actions).toEqual(abandon ? [expect.objectContaining({ kind: 'CompleteLifecycle', instanceId: 'i-a1', result: 'ABANDON' })] : []);
  });
});

describe('Rule: boundaries are inclusive where documented', () => {
  it.each([
    { name: 'last beat exactly 25 s ago: healthy', samples: beats(6, 25), verdict: 'healthy', marks: false },
    { name: 'last beat 25.001 s ago: silent, marked', samples: beats(6, 25.001), verdict: 'silent', marks: true },
    { name: 'failing, last healthy beat exactly 25 s ago: not marked yet', samples: [{ at: at(-25), value: 1 }, { at: at(-2), value: 0 }], verdict: 'failing', marks: false },
    { name: 'failing, last healthy beat 25.001 s ago: marked', samples: [{ at: at(-25.001), value: 1 }, { at: at(-2), value: 0 }], verdict: 'failing', marks: true },
    { name: 'never beat, launched 299.999 s ago (grace 300 s): booting', samples: [], launchedAgo: 299.999, verdict: 'booting', marks: false },
    { name: 'never beat, launched exactly 300 s ago: silent, marked', samples: [], launchedAgo: 300, verdict: 'silent', marks: true },
    { name: 'failing since launch 299.999 s ago: not marked', samples: [{ at: at(-2), value: 0 }], launchedAgo: 299.999, verdict: 'failing', marks: false },
  ])('$name', ({ samples, launchedAgo, verdict, marks }) => {
    const { nats, tables } = healthyThreeAz({ a: { samples, launchedAgo } });
    const result = plan(nats, tables);
    expect(verdictOf(result, 'i-a1')).toBe(verdict);
    expect(marked(result)).toEqual(marks ? ['i-a1'] : []);
  });

  it.each([
    { launchedAgo: CONFIG.launchProofTimeoutSeconds - 0.001, abandon: false },
    { launchedAgo: CONFIG.launchProofTimeoutSeconds, abandon: true },
  ])('a launching NAT without proof, launched $launchedAgo s ago: abandoned = $abandon', ({ launchedAgo, abandon }) => {
    const result = plan([nat('i-a1', 'a', { lifecycle: 'Pending:Wait', launchedAgo, samples: [] })], []);
    expect(result.actions).toEqual(abandon ? [expect.objectContaining({ kind: 'CompleteLifecycle', result: 'ABANDON', hookName: CONFIG.launchHookName })] : []);
  });

  it('a NAT is overdue only once a period and 3 s have passed, listed by the moment it turns silent', () => {
    const result = plan([nat('i-a1', 'a', { samples: beats(6, 13) }), nat('i-b1', 'b', { samples: beats(6, 14) }), nat('i-c1', 'c', { samples: beats(6, 13.001) })], []);
    expect(result.overdue).toEqual([
      { instanceId: 'i-b1', silentAt: new Date(at(-14).getTime() + 25_500) },
      { instanceId: 'i-c1', silentAt: new Date(at(-13.001).getTime() + 25_500) },
    ]);
  });

  it('a silent or failing NAT is not overdue: it is judged already', () => {
    const result = plan([nat('i-a1', 'a', { samples: beats(6, 40) }), nat('i-b1', 'b', { samples: [{ at: at(-20), value: 0 }] })], []);
    expect(result.overdue).toEqual([]);
  });
});

describe('Rule: a new target is the least-loaded NAT, ties by AZ then id', () => {
  it.each([
    {
      name: 'tables kept in their own AZ count as load',
      nats: [nat('i-a1', 'a'), nat('i-b1', 'b')],
      tables: [table('rtb-a1', 'a', 'i-a1'), table('rtb-a2', 'a', 'i-a1'), table('rtb-b', 'b', 'i-b1'), table('rtb-c', 'c')],
      expected: { 'rtb-c': 'i-b1' },
    },
    {
      name: 'tables kept across AZs count as load',
      nats: [nat('i-a1', 'a'), nat('i-b1', 'b')],
      tables: [table('rtb-c1', 'c', 'i-a1'), table('rtb-c2', 'c')],
      expected: { 'rtb-c2': 'i-b1' },
    },
    {
      name: 'tables given in this run count as load',
      nats: [nat('i-a1', 'a'), nat('i-b1', 'b')],
      tables: [table('rtb-c1', 'c'), table('rtb-c2', 'c'), table('rtb-c3', 'c')],
      expected: { 'rtb-c1': 'i-a1', 'rtb-c2': 'i-b1', 'rtb-c3': 'i-a1' },
    },
    {
      name: 'equal load: the NAT of the first AZ, though its id sorts last',
      nats: [nat('i-b1', 'b'), nat('i-z1', 'a')],
      tables: [table('rtb-c', 'c')],
      expected: { 'rtb-c': 'i-z1' },
    },
    {
      name: 'equal load in one AZ: the first id, in whatever order the group lists them',
      nats: [nat('i-a2', 'a'), nat('i-a1', 'a')],
      tables: [table('rtb-a', 'a')],
      expected: { 'rtb-a': 'i-a1' },
    },
    {
      name: 'equal load, tie broken by id',
      nats: [nat('i-c2', 'c'), nat('i-c1', 'c'), nat('i-a1', 'a')],
      tables: [table('rtb-a', 'a', 'i-a1'), table('rtb-c1', 'c'), table('rtb-c2', 'c')],
      expected: { 'rtb-c1': 'i-c1', 'rtb-c2': 'i-c2' },
    },
  ])('$name', ({ nats, tables, expected }) => {
    expect(routesSet(plan(nats, tables))).toEqual(expected);
  });
});

describe('Rule: a pinned Elastic IP goes to its zone’s preferred NAT', () => {
  const withEip = (nats: NatSpec[], pins: Record<string, string>, associations: Snapshot['elasticIps'] = []) => {
    const snapshot = world(nats, [], { elasticIps: associations });
    snapshot.groups[0]!.elasticIps = pins;
    return decide(snapshot, CONFIG, NOW);
  };
  const associated = (result: ReturnType<typeof decide>) =>
    result.actions.flatMap((a) => (a.kind === 'AssociateElasticIp' ? [`${a.allocationId}→${a.instanceId}`] : []));

  it.each([
    { name: 'the oldest of two proven NATs', nats: [nat('i-a1', 'a', { launchedAgo: 100 }), nat('i-a2', 'a', { launchedAgo: 2000 })], expected: ['eip-a→i-a2'] },
    {
      name: 'a proven NAT before an older one still booting',
      nats: [nat('i-a1', 'a', { lifecycle: 'Pending:Wait', launchedAgo: 200, samples: [] }), nat('i-a2', 'a', { launchedAgo: 50, samples: beats(1, 2) })],
      expected: ['eip-a→i-a2'],
    },
    { name: 'the first id among NATs launched together', nats: [nat('i-a2', 'a'), nat('i-a1', 'a')], expected: ['eip-a→i-a1'] },
    { name: 'a launching NAT the same plan lets in service', nats: [nat('i-a1', 'a', { lifecycle: 'Pending:Wait', launchedAgo: 30, samples: beats(1, 2) })], expected: ['eip-a→i-a1'] },
    { name: 'a booting NAT when it is the zone’s only candidate', nats: [nat('i-a1', 'a', { samples: [], launchedAgo: 30 })], expected: ['eip-a→i-a1'] },
    { name: 'nobody, when the zone’s only NAT is leaving', nats: [nat('i-a1', 'a', { lifecycle: 'Terminating:Wait' })], expected: [] },
    { name: 'nobody, when the zone’s only NAT is marked Unhealthy', nats: [nat('i-a1', 'a', { health: 'Unhealthy' })], expected: [] },
    { name: 'nobody, when the zone has no NAT at all', nats: [nat('i-b1', 'b')], expected: [] },
  ])('$name', ({ nats, expected }) => {
    expect(associated(withEip(nats, { [AZ('a')]: 'eip-a' }))).toEqual(expected);
  });

  it('does not choose a NAT without a known network interface', () => {
    const snapshot = world([nat('i-a1', 'a', { launchedAgo: 5000 }), nat('i-a2', 'a')], []);
    snapshot.groups[0]!.elasticIps = { [AZ('a')]: 'eip-a' };
    snapshot.groups[0]!.instances[0]!.networkInterfaceId = undefined;
    expect(associated(decide(snapshot, CONFIG, NOW))).toEqual(['eip-a→i-a2']);
  });

  it('leaves the address on a NAT of its zone that still holds it, even a failing one', () => {
    const failing = [{ at: at(-12), value: 1 }, { at: at(-2), value: 0 }];
    const result = withEip([nat('i-a1', 'a', { samples: failing }), nat('i-a2', 'a', { launchedAgo: 9000 })], { [AZ('a')]: 'eip-a' }, [
      { allocationId: 'eip-a', instanceId: 'i-a1' },
    ]);
    expect(associated(result)).toEqual([]);
  });

  it.each([
    { name: 'marks for replacement', spec: { samples: beats(6, 90) }, holds: true },
    { name: 'marks for replacement', spec: { samples: beats(6, 90) }, holds: false },
    { name: 'abandons at the end of its launch hook', spec: { lifecycle: 'Pending:Wait', samples: [], launchedAgo: CONFIG.launchProofTimeoutSeconds }, holds: true },
    { name: 'abandons at the end of its launch hook', spec: { lifecycle: 'Pending:Wait', samples: [], launchedAgo: CONFIG.launchProofTimeoutSeconds }, holds: false },
  ])('a NAT the same plan $name neither gets nor keeps the address (held: $holds)', ({ spec, holds }) => {
    // The outgoing NAT is the oldest candidate of its zone; the address goes to the one that stays.
    const result = withEip([nat('i-a1', 'a', spec), nat('i-a2', 'a', { samples: [], launchedAgo: 20 })], { [AZ('a')]: 'eip-a' }, holds ? [{ allocationId: 'eip-a', instanceId: 'i-a1' }] : []);
    expect(associated(result)).toEqual(['eip-a→i-a2']);
  });

  it('takes the address from a NAT of another zone, and says where it was', () => {
    const result = withEip([nat('i-a1', 'a'), nat('i-b1', 'b')], { [AZ('a')]: 'eip-a' }, [{ allocationId: 'eip-a', instanceId: 'i-b1' }]);
    expect(result.actions).toEqual([expect.objectContaining({ kind: 'AssociateElasticIp', instanceId: 'i-a1', reason: `pinned address of ${AZ('a')} is on i-b1, which no longer serves the zone` })]);
  });

  it('associates addresses zone by zone in a fixed order', () => {
    const result = withEip([nat('i-b1', 'b'), nat('i-a1', 'a')], { [AZ('b')]: 'eip-b', [AZ('a')]: 'eip-a' });
    expect(associated(result)).toEqual(['eip-a→i-a1', 'eip-b→i-b1']);
    expect(result.actions[0]!.reason).toBe(`pinned address of ${AZ('a')} is not associated`);
  });
});

describe('Rule: alerts only when something is wrong', () => {
  it('no alert at all when every zone is served by its own healthy NAT', () => {
    const { nats, tables } = healthyThreeAz();
    expect(plan(nats, tables).alerts).toEqual([]);
  });

  it('a leaving NAT whose tables all found a successor: no LeavingWithoutSuccessor, and the hook says how many moved', () => {
    const { nats, tables } = healthyThreeAz({ a: { lifecycle: 'Terminating:Wait' } });
    tables.push({ id: 'rtb-c2', azs: [AZ('c')], to: 'i-a1' });
    const result = plan(nats, tables);
    expect(alertKinds(result)).not.toContain('LeavingWithoutSuccessor');
    expect(alertKinds(result)).not.toContain('NoHealthyNat');
    expect(result.actions.at(-1)).toMatchObject({ kind: 'CompleteLifecycle', result: 'CONTINUE', reason: '2 route table(s) handed over first' });
  });

  it('a leaving NAT without a successor: the hook says so, and the alert names the stranded table', () => {
    const result = plan([nat('i-a1', 'a', { lifecycle: 'Terminating:Wait' })], [table('rtb-a', 'a', 'i-a1'), table('rtb-x', 'a', 'nat-0123')]);
    expect(result.actions).toEqual([expect.objectContaining({ kind: 'CompleteLifecycle', reason: 'releasing with 1 route table(s) and no successor' })]);
    expect(result.alerts.find((a) => a.kind === 'LeavingWithoutSuccessor')?.resourceIds).toEqual(['i-a1', 'rtb-a']);
  });

  it('a leaving NAT reached only through its network interface is still recognised as the table’s target', () => {
    const snapshot = world([nat('i-a1', 'a', { lifecycle: 'Terminating:Wait' })], [table('rtb-a', 'a', 'i-a1')]);
    delete snapshot.routeTables[0]!.defaultRoute!.instanceId;
    const result = decide(snapshot, CONFIG, NOW);
    expect(result.alerts.find((a) => a.kind === 'LeavingWithoutSuccessor')?.resourceIds).toEqual(['i-a1', 'rtb-a']);
  });

  it('a leaving NAT with no table: no alert, and its hook continues', () => {
    const result = plan([nat('i-a1', 'a', { lifecycle: 'Terminating:Wait' }), nat('i-b1', 'b')], [table('rtb-b', 'b', 'i-b1')]);
    expect(result.alerts).toEqual([]);
    expect(result.actions).toEqual([expect.objectContaining({ kind: 'CompleteLifecycle', result: 'CONTINUE', reason: '0 route table(s) handed over first' })]);
  });

  it('a silent NAT whose table found a peer in its own AZ: no NoHealthyNat, no CrossAzFailover', () => {
    const result = plan([nat('i-a1', 'a', { samples: beats(6, 90) }), nat('i-a2', 'a'), nat('i-b1', 'b')], [table('rtb-a', 'a', 'i-a1')]);
    expect(routesSet(result)).toEqual({ 'rtb-a': 'i-a2' });
    expect(result.alerts).toEqual([]);
    expect(result.routes[0]).toMatchObject({ serving: 'same-az', desiredInstanceId: 'i-a2', availabilityZone: AZ('a') });
  });
});

describe('Rule: what a table points at', () => {
  it('keeps a table routed to a healthy NAT by network interface only', () => {
    const snapshot = world([nat('i-a1', 'a')], [table('rtb-a', 'a', 'i-a1')]);
    delete snapshot.routeTables[0]!.defaultRoute!.instanceId;
    expect(decide(snapshot, CONFIG, NOW).actions).toEqual([]);
  });

  it('moves a table routed to a healthy NAT of another VPC to a NAT of its own', () => {
    const result = plan([nat('i-a1', 'a'), nat('i-x1', 'a', { vpcId: 'vpc-2', group: 'other' })], [table('rtb-a', 'a', 'i-x1')]);
    expect(result.actions).toEqual([expect.objectContaining({ kind: 'SetRoute', routeTableId: 'rtb-a', instanceId: 'i-a1', previousInstanceId: 'i-x1' })]);
  });

  it('names the instance behind a blackhole route as the previous target', () => {
    const result = plan([nat('i-a1', 'a')], [{ id: 'rtb-a', azs: [AZ('a')], to: 'i-gone', blackhole: true }]);
    expect(result.actions).toEqual([expect.objectContaining({ kind: 'SetRoute', instanceId: 'i-a1', mode: 'replace', previousInstanceId: 'i-gone' })]);
  });

  it('does not route to a healthy NAT without a VPC', () => {
    const snapshot = world([nat('i-a1', 'a'), nat('i-b1', 'b')], [table('rtb-a', 'a')]);
    snapshot.groups[0]!.instances[0]!.vpcId = undefined;
    const result = decide(snapshot, CONFIG, NOW);
    expect(routesSet(result)).toEqual({ 'rtb-a': 'i-b1' });
    expect(result.nats[0]).toMatchObject({ verdict: 'healthy', routable: false });
  });

  it('runs its actions in order: prepare, routes, hooks, marks', () => {
    const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) }, b: { sourceDestCheck: true } });
    nats.push(nat('i-c2', 'c', { lifecycle: 'Pending:Wait', launchedAgo: 30, samples: beats(1, 1) }));
    expect(kinds(plan(nats, tables))).toEqual(['DisableSourceDestCheck', 'SetRoute', 'CompleteLifecycle', 'SetUnhealthy']);
  });
});

describe('Rule: every verdict and route says why, and what could not be observed is reported', () => {
  it.each([
    { name: 'healthy', spec: { samples: beats(4, 2) }, reason: 'healthy heartbeat 2 s ago (4 in a row)' },
    { name: 'failing', spec: { samples: [...beats(2, 12), { at: at(-2), value: 0 }] }, reason: 'agent reports a failed probe 2 s ago; last healthy heartbeat 12 s ago' },
    { name: 'failing since launch', spec: { samples: [{ at: at(-2), value: 0 }] }, reason: 'agent reports a failed probe 2 s ago' },
    { name: 'silent', spec: { samples: beats(3, 40) }, reason: 'no heartbeat for 40 s (silence window 25 s)' },
    { name: 'never beat', spec: { samples: [], launchedAgo: 400 }, reason: 'no heartbeat since launch 400 s ago (silence window 25 s)' },
    { name: 'booting', spec: { samples: [], launchedAgo: 120 }, reason: 'launched 120 s ago, no heartbeat yet (grace period 300 s)' },
    { name: 'launching', spec: { samples: [], launchedAgo: 30, lifecycle: 'Pending:Wait' }, reason: 'launched 30 s ago, no heartbeat yet (waiting for proof in its launch hook)' },
    { name: 'stopped', spec: { ec2State: 'stopped' }, reason: 'EC2 state is stopped' },
    { name: 'standby', spec: { lifecycle: 'Standby' }, reason: 'lifecycle state Standby' },
    { name: 'unhealthy', spec: { health: 'Unhealthy' }, reason: 'marked Unhealthy in nat-asg, awaiting replacement' },
  ])('$name: $reason', ({ spec, reason }) => {
    expect(plan([nat('i-a1', 'a', spec)], []).nats[0]!.reason).toBe(reason);
  });

  it('a NAT EC2 does not know, launched when nobody knows', () => {
    const snapshot = world([nat('i-a1', 'a', { lifecycle: 'Pending:Wait', samples: [] }), nat('i-b1', 'b')], []);
    Object.assign(snapshot.groups[0]!.instances[0]!, { ec2State: undefined, launchTime: undefined });
    snapshot.groups[0]!.instances[1]!.ec2State = undefined;
    const result = decide(snapshot, CONFIG, NOW);
    expect(result.nats.map((n) => n.reason)).toEqual(['EC2 state is unknown (instance not found)', 'EC2 state is unknown (instance not found)']);
  });

  it('a NAT without heartbeats listed at all is judged on an empty history', () => {
    const snapshot = world([nat('i-a1', 'a', { samples: [], launchedAgo: 100 }), nat('i-b1', 'b')], [table('rtb-a', 'a', 'i-b1')]);
    snapshot.heartbeats.delete('i-a1');
    const result = decide(snapshot, CONFIG, NOW);
    expect(result.nats[0]).toMatchObject({ verdict: 'booting', routable: false, stable: false, lastHeartbeatAt: undefined });
  });

  it('a healthy NAT without an interface cannot take routes, and says so', () => {
    const snapshot = world([nat('i-a1', 'a')], [table('rtb-a', 'a')]);
    snapshot.groups[0]!.instances[0]!.networkInterfaceId = undefined;
    const result = decide(snapshot, CONFIG, NOW);
    expect(result.nats[0]).toMatchObject({ verdict: 'healthy', routable: false, reason: 'healthy heartbeat, but no primary network interface to route to' });
    expect(result.alerts).toEqual([expect.objectContaining({ kind: 'NoHealthyNat', resourceIds: ['rtb-a', 'vpc-1'] })]);
  });

  it('publishes each NAT’s assessment', () => {
    const result = plan([nat('i-a1', 'a', { samples: beats(2, 2) })], []);
    expect(result.nats).toEqual([
      {
        instanceId: 'i-a1',
        groupName: 'nat-asg',
        availabilityZone: AZ('a'),
        vpcId: 'vpc-1',
        lifecycleState: 'InService',
        verdict: 'healthy',
        routable: true,
        stable: false,
        lastHeartbeatAt: at(-2),
        reason: 'healthy heartbeat 2 s ago (2 in a row)',
      },
    ]);
  });

  it.each([
    { name: 'no route', spec: table('rtb-a', 'a'), why: 'no 0.0.0.0/0 route: → i-a1 (same AZ)' },
    { name: 'a blackhole', spec: { id: 'rtb-a', azs: [AZ('a')], to: 'i-gone', blackhole: true }, why: '0.0.0.0/0 route is a blackhole: → i-a1 (same AZ)' },
    { name: 'a zone without a NAT', spec: table('rtb-c', 'c'), why: `no 0.0.0.0/0 route: → i-a1 (cross-AZ, in ${AZ('a')})` },
  ])('a table with $name: the route’s reason says so', ({ spec, why }) => {
    const result = plan([nat('i-a1', 'a')], [spec]);
    expect(result.actions[0]!.reason).toBe(why);
    expect(result.routes[0]!.reason).toBe(why);
  });

  it('a table whose route leads to something not ours is left alone, and the reason names the target', () => {
    const result = plan([nat('i-a1', 'a')], [table('rtb-a', 'a', 'nat-0123')]);
    expect(result.actions).toEqual([]);
    expect(result.routes[0]).toMatchObject({ routeTableId: 'rtb-a', serving: 'foreign' });
    expect(result.routes[0]!.reason).toMatch(/nat-0123, not a NAT of this deployment: left alone/);
    expect(result.alerts).toEqual([expect.objectContaining({ kind: 'ForeignRoute', resourceIds: ['rtb-a', 'nat-0123'] })]);
  });

  it('names the table and the NAT of a cross-AZ failover, and tells a table of several AZs by none', () => {
    const result = plan([nat('i-a1', 'a')], [{ id: 'rtb-bc', azs: [AZ('b'), AZ('c')] }]);
    expect(result.alerts).toEqual([expect.objectContaining({ kind: 'CrossAzFailover', resourceIds: ['rtb-bc', 'i-a1'] })]);
    expect(result.routes[0]).toMatchObject({ availabilityZone: undefined, serving: 'cross-az', desiredInstanceId: 'i-a1' });
  });

  it('a table left without a NAT says why, serving none', () => {
    const result = plan([nat('i-a1', 'a', { samples: beats(6, 90) })], [{ id: 'rtb-a', azs: [AZ('a')], to: 'i-a1' }, { id: 'rtb-x', azs: [] }]);
    expect(result.routes).toEqual([
      expect.objectContaining({ routeTableId: 'rtb-a', serving: 'none', desiredInstanceId: undefined, availabilityZone: AZ('a') }),
      expect.objectContaining({ routeTableId: 'rtb-x', serving: 'none', availabilityZone: undefined }),
    ]);
    expect(result.routes[1]!.reason).toBe('no 0.0.0.0/0 route; no healthy NAT anywhere in the VPC');
  });

  it('reports what could not be observed, and acts on the rest', () => {
    const result = plan([nat('i-a1', 'a', { samples: beats(6, 90) }), nat('i-b1', 'b')], [table('rtb-a', 'a', 'i-a1')], {
      failures: [{ scope: 'nat-other', message: 'AccessDenied' }],
    });
    expect(result.alerts[0]).toEqual({ kind: 'ObservationFailed', message: 'could not observe nat-other: AccessDenied', resourceIds: ['nat-other'] });
    expect(routesSet(result)).toEqual({ 'rtb-a': 'i-b1' });
  });

  it('without heartbeats judges nothing: no valve, nothing overdue, every NAT still listed', () => {
    const result = plan([nat('i-a1', 'a', { samples: beats(6, 14) })], [table('rtb-a', 'a', 'i-a1')], { heartbeatsObserved: false });
    expect(result).toMatchObject({ actions: [], valveTripped: false, overdue: [] });
    expect(result.nats.map((n) => n.instanceId)).toEqual(['i-a1']);
    expect(result.routes[0]).toMatchObject({ serving: 'unknown', reason: 'heartbeats unknown: left as it is', desiredInstanceId: undefined });
  });

  it('the valve’s alert names the NATs it spared', () => {
    const result = plan([nat('i-a1', 'a', { samples: beats(6, 90) }), nat('i-b1', 'b', { samples: beats(6, 90) }), nat('i-c1', 'c')], []);
    expect(result.alerts).toEqual([expect.objectContaining({ kind: 'SafetyValveTripped', resourceIds: ['i-a1', 'i-b1'] })]);
    expect(result.alerts[0]!.message).toBe('2 of 3 in-service NATs have no healthy heartbeat (limit 50 %): suspecting the metric pipeline, marking none');
  });

  it('a leaving NAT without an interface strands no table that targets something else', () => {
    const snapshot = world([nat('i-a1', 'a', { lifecycle: 'Terminating:Wait' })], [table('rtb-x', 'a', 'nat-0123')]);
    snapshot.groups[0]!.instances[0]!.networkInterfaceId = undefined;
    const result = decide(snapshot, CONFIG, NOW);
    expect(alertKinds(result)).not.toContain('LeavingWithoutSuccessor');
  });
});

describe('Rule: a NAT in its launch hook is booting, whatever its age', () => {
  it('is stable at its first beat even past the grace period: a failed-over table comes back to it', () => {
    const result = plan(
      [nat('i-a2', 'a', { lifecycle: 'Pending:Wait', launchedAgo: 400, samples: beats(1, 2) }), nat('i-b1', 'b')],
      [table('rtb-a', 'a', 'i-b1'), table('rtb-b', 'b', 'i-b1')],
    );
    expect(result.nats[0]).toMatchObject({ verdict: 'healthy', stable: true });
    expect(routesSet(result)).toEqual({ 'rtb-a': 'i-a2' });
  });

  it('is not marked when it reports failures past the grace period: its hook’s timeout decides', () => {
    const result = plan([nat('i-a2', 'a', { lifecycle: 'Pending:Wait', launchedAgo: 400, samples: [{ at: at(-2), value: 0 }] }), nat('i-b1', 'b')], []);
    expect(verdictOf(result, 'i-a2')).toBe('failing');
    expect(result.actions).toEqual([]);
  });
});

describe('Rule: a leaving NAT’s hook counts only its own tables', () => {
  it('names only its own stranded table while other tables move', () => {
    const nats = [nat('i-a1', 'a', { lifecycle: 'Terminating:Wait' }), nat('i-b1', 'b'), nat('i-c1', 'c', { samples: beats(6, 90) })];
    const tables = [table('rtb-a', 'a', 'i-a1'), { id: 'rtb-x', azs: [AZ('a')], to: 'i-a1', vpcId: 'vpc-2' }, table('rtb-c', 'c', 'i-c1')];
    const result = plan(nats, tables);
    expect(routesSet(result)).toEqual({ 'rtb-a': 'i-b1', 'rtb-c': 'i-b1' });
    expect(result.alerts.find((a) => a.kind === 'LeavingWithoutSuccessor')?.resourceIds).toEqual(['i-a1', 'rtb-x']);
    expect(result.actions.find((a) => a.kind === 'CompleteLifecycle')?.reason).toBe('releasing with 1 route table(s) and no successor');
  });

  it('counts only the tables it handed over', () => {
    const nats = [nat('i-a1', 'a', { lifecycle: 'Terminating:Wait' }), nat('i-b1', 'b'), nat('i-c1', 'c', { samples: beats(6, 90) })];
    const result = plan(nats, [table('rtb-a', 'a', 'i-a1'), table('rtb-c', 'c', 'i-c1')]);
    expect(result.actions.find((a) => a.kind === 'CompleteLifecycle')?.reason).toBe('1 route table(s) handed over first');
    expect(alertKinds(result)).not.toContain('LeavingWithoutSuccessor');
  });
});
