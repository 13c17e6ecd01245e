import { describe, expect, it } from 'vitest';
import { runScenario } from '../../sim/run';
import { builtinScenarioNames, loadScenario, parseScenario } from '../../sim/scenario';

// Every built-in fault scenario, on natbeat's real handlers, checked for the controller's promises.
describe('Chaos: natbeat on every built-in scenario', () => {
  // The compromised-NAT scenarios have their own assertions, per trust-rule clause (trust.test.ts).
  for (const name of builtinScenarioNames().filter((n) => !n.startsWith('compromised-'))) {
    it(`${name}: marks no routing NAT, ends with every table on a working NAT, converges within 2 reconciles`, async () => {
      const run = await runScenario(loadScenario(name), 'natbeat', { seed: 7 });
      expect(run.invariants.routingNatsMarked).toEqual([]);
      expect(run.invariants.brokenTablesAtEnd).toEqual([]);
      expect(run.invariants.convergence?.converged).toBe(true);
      expect(run.unrepaired).toBe(false);
      // The agent's report is a hint: a run it starts acts on CloudWatch only, never on a routing NAT.
      expect(run.invariants.routingNatsMarkedOnReport).toEqual([]);
    });
  }

  it('a failure report about a NAT that recovers at once marks nothing and leaves every table working', async () => {
    // The NAT stops forwarding for one probe cycle: its agent reports, publishes one 0, and routes again.
    const scenario = parseScenario(
      { name: 'blip', description: 'one failed probe', durationSeconds: 240, faults: [{ kind: 'stop-forwarding', at: 0, zone: 'a', restoreAt: 1.5 }] },
      'blip',
    );
    let reported = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const run = await runScenario(scenario, 'natbeat', { seed });
      reported += run.reports;
      expect(run.invariants.marksOfRoutingNats).toBe(0);
      expect(run.invariants.routingNatsMarkedOnReport).toEqual([]);
      expect(run.invariants.brokenTablesAtEnd).toEqual([]);
    }
    expect(reported).toBeGreaterThan(0);
  });

  it('an agent failure report makes the controller move the routes before the trigger alarm fires', async () => {
    const run = await runScenario(loadScenario('routing-failure'), 'natbeat', { seed: 1 });
    const firstRoute = run.timeline.find((e) => e.kind === 'route' && e.atMs >= run.faultAtMs);
    const firstAlarm = run.timeline.find((e) => e.kind === 'alarm' && e.atMs >= run.faultAtMs && e.message.endsWith('→ ALARM'));
    expect(run.reports).toBeGreaterThan(0);
    expect(run.timeline.some((e) => e.kind === 'lambda' && e.message.includes('(report from') && e.message.includes('SetRoute done'))).toBe(true);
    expect(firstRoute!.atMs).toBeLessThan(firstAlarm?.atMs ?? Number.POSITIVE_INFINITY);
  });

  it('rides out a CloudWatch ingestion outage: heartbeats go through the intake, so nothing is marked or moved', async () => {
    const run = await runScenario(loadScenario('cloudwatch-outage'), 'natbeat', { seed: 3 });
    expect(run.invariants.marksDuringMetricOutage).toBe(0);
    expect(run.invariants.falseRouteMoves).toEqual([]);
  });

  it('hands routes over before a planned termination: written before the NAT stops, no gap without propagation', async () => {
    for (const name of ['planned-termination', 'planned-termination-terminate-first']) {
      const optimistic = await runScenario(loadScenario(name), 'natbeat', { seed: 11, profile: 'optimistic' });
      expect(optimistic.egressGapSeconds).toBe(0);
      // The terminate hook is completed as soon as the route is written: the NAT stops while the
      // route still propagates, so the gap is at most the propagation delay (2 s pessimistic).
      const pessimistic = await runScenario(loadScenario(name), 'natbeat', { seed: 11 });
      expect(pessimistic.routeWrittenSeconds).toBe(0);
      expect(pessimistic.egressGapSeconds).toBeLessThanOrEqual(2);
    }
  });

  it('repairs an agent-detected routing failure that both baselines never repair', async () => {
    const scenario = loadScenario('routing-failure');
    const natbeat = await runScenario(scenario, 'natbeat', { seed: 5 });
    const statusChecks = await runScenario(scenario, 'ec2StatusChecksOnly', { seed: 5 });
    const takeover = await runScenario(scenario, 'takeoverAtBoot', { seed: 5 });
    expect(natbeat.unrepaired).toBe(false);
    expect(natbeat.egressGapSeconds).toBeLessThan(60);
    expect(statusChecks.unrepaired).toBe(true);
    expect(takeover.unrepaired).toBe(true);
  });

  it('survives reconcile runs that crash after their first write', async () => {
    const run = await runScenario(loadScenario('reconcile-crash'), 'natbeat', { seed: 9 });
    expect(run.timeline.some((e) => e.kind === 'lambda' && e.message.includes('CRASHED'))).toBe(true);
    expect(run.invariants.brokenTablesAtEnd).toEqual([]);
  });
});
