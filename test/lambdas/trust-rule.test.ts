/**
 * The trust rule, clause by clause: one compromised NAT (here i-c1 unless said otherwise) may say
 * anything about its peers through the intake, but it cannot write their beats (the intake takes
 * identity from the verified caller). So it cannot
 *   (a) get a healthy peer marked Unhealthy,
 *   (b) attract a healthy zone's tables, and
 *   (c) keep a dead NAT's tables blackholed longer than the slow path (silence window + schedule).
 * Pure decide() over snapshots, then the reconcile handler over a mocked report log.
 */
import { SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import { ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import { decide } from '../../lambdas/core/decide';
import { witnessReportEvent } from '../../lambdas/core/events';
import { silentLog } from '../../lambdas/core/log';
import { reconcile } from '../../lambdas/core/reconcile';
import { createRuntime } from '../../lambdas/core/runtime';
import type { HeartbeatSample, Plan, WitnessReport } from '../../lambdas/core/types';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { mockFakeAws, plainClients } from '../support/aws-mock';
import { buildFleet, type Fleet } from '../support/fleet';
import { CONFIG, NOW, alertKinds, at, beats, healthyThreeAz, kinds, marked, routesSet, verdictOf, world, type NatSpec } from './decide-world';

/** Overdue after period 10 + slack 3 = 13 s; silent after 25 s (CONFIG). */
const OVERDUE = CONFIG.heartbeatPeriodSeconds + CONFIG.heartbeatSlackSeconds;

/** Reports by subject: [subject, witness, seconds ago]. */
function reports(...entries: [string, string, number][]): Map<string, WitnessReport[]> {
  const out = new Map<string, WitnessReport[]>();
  for (const [subject, witnessId, ago] of entries) out.set(subject, [...(out.get(subject) ?? []), { witnessId, at: at(-ago) }]);
  return out;
}

/** Three AZs, one NAT and one table each; i-a1's beats end `aLastAgo` s ago; the witness reports given. */
function planWith(aLastAgo: number, witnesses: Map<string, WitnessReport[]>, more: Partial<Record<'a' | 'b' | 'c', Partial<NatSpec>>> = {}): Plan {
  const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, aLastAgo) }, ...more });
  return decide(world(nats, tables, { witnesses }), CONFIG, NOW);
}

describe('Clause (a): a compromised NAT cannot get a healthy peer marked Unhealthy', () => {
  it('its reports against a peer whose beats are fresh change nothing at all', () => {
    const plan = planWith(2, reports(['i-a1', 'i-c1', 1], ['i-a1', 'i-c1', 3], ['i-b1', 'i-c1', 1]));
    expect(plan.actions).toEqual([]);
    expect(plan.nats.map((n) => n.verdict)).toEqual(['healthy', 'healthy', 'healthy']);
  });

  it('its reports never mark, even when the peer is overdue and the report is believed', () => {
    const plan = planWith(OVERDUE + 1, reports(['i-a1', 'i-c1', 1]));
    expect(verdictOf(plan, 'i-a1')).toBe('unreachable');
    expect(marked(plan)).toEqual([]);
    expect(kinds(plan)).toEqual(['SetRoute']);
  });

  it('only the peer’s own silence for a whole window marks it, witnesses or not', () => {
    for (const witnesses of [reports(), reports(['i-a1', 'i-c1', 1], ['i-a1', 'i-b1', 1])]) {
      expect(marked(planWith(CONFIG.silenceSeconds, witnesses))).toEqual([]);
      expect(marked(planWith(CONFIG.silenceSeconds + 0.001, witnesses))).toEqual(['i-a1']);
    }
  });

  it('reports cannot stand in for beats: a failing witness, an overdue witness, or one naming itself is not believed', () => {
    // Fails on a decide that believes any NAT's word: each of these would mark or move i-a1.
    const failingWitness = planWith(OVERDUE + 1, reports(['i-a1', 'i-c1', 1]), { c: { samples: [...beats(5, 12), { at: at(-1), value: 0 }] } });
    expect(verdictOf(failingWitness, 'i-a1')).toBe('healthy');
    const overdueWitness = planWith(OVERDUE + 1, reports(['i-a1', 'i-c1', 1]), { c: { samples: beats(6, OVERDUE + 2) } });
    expect(verdictOf(overdueWitness, 'i-a1')).toBe('healthy');
    const selfNamed = planWith(OVERDUE + 1, reports(['i-a1', 'i-a1', 1]));
    expect(verdictOf(selfNamed, 'i-a1')).toBe('healthy');
    for (const plan of [failingWitness, overdueWitness, selfNamed]) expect(routesSet(plan)['rtb-a']).toBeUndefined();
  });
});

describe('Clause (b): a compromised NAT cannot attract a healthy zone’s tables', () => {
  it('a peer’s beat newer than the slack overrules every report, however many and however recent', () => {
    for (const ago of [2, OVERDUE]) {
      const plan = planWith(ago, reports(['i-a1', 'i-c1', 0], ['i-a1', 'i-c1', 0.5], ['i-a1', 'i-b1', 0]));
      expect(routesSet(plan)).toEqual({});
      expect(verdictOf(plan, 'i-a1')).toBe('healthy');
    }
  });

  it('partition: two witnesses against a NAT that still beats move nothing (two witnesses alone are never enough)', () => {
    const plan = planWith(4, reports(['i-a1', 'i-b1', 1], ['i-a1', 'i-c1', 1]));
    expect(plan.actions).toEqual([]);
    expect(plan.alerts).toEqual([]);
  });

  it('a report older than the peer’s latest beat is overruled by that beat', () => {
    // Its latest beat 14 s ago, the report 14.5 s ago: inside the witness window, but before the beat.
    const plan = planWith(OVERDUE + 1, reports(['i-a1', 'i-c1', OVERDUE + 1.5]));
    expect(verdictOf(plan, 'i-a1')).toBe('healthy');
    expect(routesSet(plan)).toEqual({});
  });

  it('reports older than the witness window are not believed', () => {
    expect(verdictOf(planWith(OVERDUE + 1, reports(['i-a1', 'i-c1', 10])), 'i-a1')).toBe('unreachable');
    expect(verdictOf(planWith(20, reports(['i-a1', 'i-c1', 15.001])), 'i-a1')).toBe('healthy');
  });

  it('the tables of a NAT that really is overdue go to a NAT that did not name it, even a busier one', () => {
    // i-b1 already serves two tables; without the preference the least-loaded i-c1 (the witness) would take rtb-a.
    const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, OVERDUE + 1) } });
    const busier = [...tables, { id: 'rtb-b2', azs: ['us-east-1b'], to: 'i-b1' }];
    const witnessed = decide(world(nats, busier, { witnesses: reports(['i-a1', 'i-c1', 1]) }), CONFIG, NOW);
    expect(routesSet(witnessed)).toEqual({ 'rtb-a': 'i-b1' });
    // The same NAT named by i-b1 instead: i-c1 did not name it, and it is the least loaded anyway.
    const other = decide(world(nats, busier, { witnesses: reports(['i-a1', 'i-b1', 1]) }), CONFIG, NOW);
    expect(routesSet(other)).toEqual({ 'rtb-a': 'i-c1' });
  });

  it('a witness takes the tables only when it is the one NAT left', () => {
    const plan = decide(
      world([{ id: 'i-a1', az: 'us-east-1a', samples: beats(6, OVERDUE + 1) }, { id: 'i-c1', az: 'us-east-1c' }], [
        { id: 'rtb-a', azs: ['us-east-1a'], to: 'i-a1' },
        { id: 'rtb-c', azs: ['us-east-1c'], to: 'i-c1' },
      ], { witnesses: reports(['i-a1', 'i-c1', 1]) }),
      CONFIG,
      NOW,
    );
    expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-c1' });
  });

  it('after an unreachable spell the tables come back only after failbackHeartbeats beats in a row', () => {
    // i-a1 was overdue after its beat 30 s ago (a gap of 18–23 s: longer than period + slack,
    // shorter than the silence window), its table moved to i-b1; then it beat every 5 s again.
    const back = (count: number): HeartbeatSample[] => [...beats(4, 30), ...Array.from({ length: count }, (_, k) => ({ at: at(-2 - (count - 1 - k) * 5), value: 1 }))];
    const failback = (count: number) => {
      const { nats, tables } = healthyThreeAz({ a: { samples: back(count) } });
      return routesSet(decide(world(nats, [{ ...tables[0]!, to: 'i-b1' }, tables[1]!, tables[2]!]), CONFIG, NOW));
    };
    expect(failback(2)).toEqual({});
    expect(failback(3)).toEqual({ 'rtb-a': 'i-a1' });
  });

  it('many NATs overdue at once points at the intake or the log: no report is believed (safety valve)', () => {
    const plan = planWith(OVERDUE + 1, reports(['i-a1', 'i-c1', 1]), { b: { samples: beats(6, OVERDUE + 1) } });
    expect(verdictOf(plan, 'i-a1')).toBe('healthy');
    expect(routesSet(plan)).toEqual({});
    expect(alertKinds(plan)).toEqual(['SafetyValveTripped']);
    expect(plan.valveTripped).toBe(true);
  });
});

describe('Clause (c): a compromised NAT cannot keep a dead NAT’s tables blackholed beyond the slow path', () => {
  it('with its witness silent, the dead NAT’s tables move when its silence window ends, not before', () => {
    const quiet = reports();
    expect(routesSet(planWith(CONFIG.silenceSeconds, quiet))).toEqual({});
    expect(planWith(CONFIG.silenceSeconds, quiet).overdue.map((o) => o.instanceId)).toEqual(['i-a1']);
    const silent = planWith(CONFIG.silenceSeconds + 0.001, quiet);
    expect(routesSet(silent)).toEqual({ 'rtb-a': 'i-b1' });
    expect(marked(silent)).toEqual(['i-a1']);
  });

  it('its lies about a live NAT do not hold back the dead one’s move', () => {
    const plan = planWith(CONFIG.silenceSeconds + 1, reports(['i-b1', 'i-c1', 1]));
    expect(routesSet(plan)).toEqual({ 'rtb-a': 'i-b1' });
  });

  it('with an honest witness, the tables move once the beat is overdue (period + slack), not before', () => {
    expect(routesSet(planWith(OVERDUE, reports(['i-a1', 'i-b1', 1])))).toEqual({});
    expect(routesSet(planWith(OVERDUE + 0.001, reports(['i-a1', 'i-b1', 1])))).toEqual({ 'rtb-a': 'i-c1' });
  });
});

describe('Handler: the trust rule through the reconcile function and a mocked report log', () => {
  const T0 = new Date('2026-06-01T12:00:00Z');
  const context = { getRemainingTimeInMillis: () => 60_000, functionName: 'reconcile', awsRequestId: 'r-1' } as unknown as Context;
  let mocks: ReturnType<typeof mockFakeAws>;
  let fleet: Fleet;
  let clock: { now: number };
  let sleeps: number[];
  const [a, b, c] = ['i-00000000000000001', 'i-00000000000000002', 'i-00000000000000003'];

  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    fleet = buildFleet({ now: T0, groups: 1, nats: 3 });
    mocks = mockFakeAws(fleet.fake);
    clock = { now: T0.getTime() };
    sleeps = [];
  });
  afterEach(() => mocks.restore());

  /** Every NAT but `dead` keeps beating every 10 s up to the clock (the fake answers the Query when sent). */
  function keepBeating(dead?: string) {
    for (const id of [a, b, c]) {
      if (id === dead) continue;
      for (let t = T0.getTime() + 8_000; t <= T0.getTime() + 60_000; t += 10_000) fleet.fake.beat(id, new Date(t));
    }
  }
  /** The log as of the clock: each Query sees only the items received by then. */
  function logAsOfClock() {
    const full = new Map([...fleet.fake.heartbeats].map(([id, series]) => [id, [...series]]));
    fleet.fake.faults.push((call) => {
      if (call.command !== 'QueryCommand') return undefined;
      for (const [id, series] of full) fleet.fake.heartbeats.set(id, series.filter((s) => s.at.getTime() <= clock.now));
      return undefined;
    });
  }
  const handler = () =>
    createReconcileHandler(
      createRuntime({
        config: { ...DEFAULT_CONFIG, graceSeconds: 0, heartbeatPeriodSeconds: 10, heartbeatSlackSeconds: 3, reportTable: 'natbeat-reports' },
        clients: plainClients,
        logger: new Logger({ logLevel: 'SILENT' }),
        metrics: new Metrics({ namespace: 'test' }),
        now: () => new Date(clock.now),
        sleep: async (ms) => {
          sleeps.push(ms);
          clock.now += ms;
        },
      }),
    );
  const witnessTrigger = (witnessId: string, subject: string) =>
    witnessReportEvent(
      { witnessId, groupName: fleet.groupNames[0]!, availabilityZone: 'us-east-1c', unreachablePeers: [subject], callerArn: `arn:aws:sts::123456789012:assumed-role/nat/${witnessId}` },
      new Date(clock.now),
    );

  it('(a, b) a lying witness about a NAT that keeps beating: no move, no mark, and at most one look when it would have been overdue', async () => {
    keepBeating();
    logAsOfClock();
    fleet.fake.witness(a, c, new Date(T0.getTime()));
    const response = await handler()(witnessTrigger(c, a), context);
    expect(response.status).toBe('reconciled');
    expect(mocks.ec2).not.toHaveReceivedCommand(ReplaceRouteCommand);
    expect(mocks.autoScaling).not.toHaveReceivedCommand(SetInstanceHealthCommand);
    // a beat at T0 - 2 s: overdue at T0 + 11.5 s, looked at then; it had beaten again: nothing more.
    expect(sleeps).toEqual([11_500]);
  });

  it('(c) an honest witness’s report about a dead NAT moves its table when its beat is overdue, in the same invocation', async () => {
    keepBeating(a);
    logAsOfClock();
    fleet.fake.witness(a, b, new Date(T0.getTime()));
    const response = await handler()(witnessTrigger(b, a), context);
    expect(sleeps).toEqual([11_500]);
    expect(mocks.ec2).toHaveReceivedCommandTimes(ReplaceRouteCommand, 1);
    expect(fleet.fake.routeTargetOf(fleet.tablesByGroup.get(fleet.groupNames[0]!)![0]!)).toBe(c);
    expect(mocks.autoScaling).not.toHaveReceivedCommand(SetInstanceHealthCommand);
    expect(response.actions).toEqual([{ kind: 'SetRoute', status: 'done', detail: undefined }]);
  });

  it('(c) a dead NAT with no witness report: the scheduled run after its silence window moves and marks it', async () => {
    keepBeating(a);
    logAsOfClock();
    clock.now = T0.getTime() + 22_000; // 24 s after its last beat: overdue, not yet silent
    await handler()({ source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date(clock.now).toISOString() }, context);
    expect(mocks.ec2).not.toHaveReceivedCommand(ReplaceRouteCommand);
    clock.now = T0.getTime() + 60_000;
    await handler()({ source: 'aws.events', 'detail-type': 'Scheduled Event', time: new Date(clock.now).toISOString() }, context);
    expect(mocks.ec2).toHaveReceivedCommandTimes(ReplaceRouteCommand, 1);
    expect(mocks.autoScaling).toHaveReceivedCommandWith(SetInstanceHealthCommand, { InstanceId: a, HealthStatus: 'Unhealthy' });
  });

  it('counts an unreachable NAT in UnreachableNats, and sends no zero for it otherwise', async () => {
    keepBeating(a);
    logAsOfClock();
    fleet.fake.witness(a, b, new Date(T0.getTime()));
    const config = { ...DEFAULT_CONFIG, graceSeconds: 0, heartbeatPeriodSeconds: 10, heartbeatSlackSeconds: 3, reportTable: 'natbeat-reports' };
    const sent = async (now: number) => {
      clock.now = now;
      const metrics: Record<string, number> = {};
      await reconcile({ clients: plainClients(), config: { ...config, dryRun: true }, log: silentLog, metrics: { add: (name, value) => (metrics[name] = value) }, now: () => new Date(clock.now) });
      return metrics;
    };
    expect(await sent(T0.getTime() + 5_000)).toEqual({ ReconcileRuns: 1 });
    expect(await sent(T0.getTime() + 12_000)).toMatchObject({ UnreachableNats: 1, RouteChanges: 1 });
  });
});
