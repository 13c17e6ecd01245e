import { describe, expect, it } from 'vitest';
import { runScenario } from '../../sim/run';
import { loadScenario } from '../../sim/scenario';

describe('Flow accounting', () => {
  it('a planned termination (terminate first) resets the zone’s flows twice: onto the peer, then back on failback', async () => {
    const run = await runScenario(loadScenario('planned-termination-terminate-first'), 'natbeat', { seed: 11, timeline: false });
    const moves = run.routeMoves.filter((m) => m.zone === 'us-east-1a');
    expect(moves).toHaveLength(2);
    expect(moves[1]!.planned).toBe(true); // failback: away from a peer that still forwards
    expect(run.flowsReset).toBe(2 * 1000);
  });

  it('handover on planned moves keeps the failback’s flows; the forced move still resets them', async () => {
    const run = await runScenario(loadScenario('planned-termination-terminate-first'), 'natbeat', { seed: 11, timeline: false, world: { handoverOnPlannedMoves: true } });
    const planned = run.routeMoves.filter((m) => m.planned);
    expect(planned.length).toBeGreaterThan(0);
    for (const m of planned) expect(m.flowsReset).toBe(0);
    expect(run.flowsReset).toBe(run.routeMoves.filter((m) => !m.planned).length * 1000);
    expect(run.flowsReset).toBeLessThan(2 * 1000);
  });

  it('a routing failure resets the failed zone’s flows when its table moves, and counts with establishedFlowsPerZone', async () => {
    const run = await runScenario(loadScenario('routing-failure'), 'natbeat', { seed: 3, timeline: false, world: { establishedFlowsPerZone: 250 } });
    expect(run.routeMoves.length).toBeGreaterThan(0);
    expect(run.routeMoves[0]!.planned).toBe(false); // off a NAT that no longer forwards
    expect(run.flowsReset).toBe(run.routeMoves.length * 250);
  });
});

describe('Route propagation', () => {
  it('traffic follows a written route only after the propagation delay; the written-route time excludes it', async () => {
    const scenario = loadScenario('routing-failure');
    const instant = await runScenario(scenario, 'natbeat', { seed: 4, timeline: false, world: { routePropagationSeconds: 0 } });
    const slow = await runScenario(scenario, 'natbeat', { seed: 4, timeline: false, world: { routePropagationSeconds: 5 } });
    expect(instant.egressGapSeconds).toBeCloseTo(instant.routeWrittenSeconds, 1);
    expect(slow.egressGapSeconds).toBeCloseTo(slow.routeWrittenSeconds + 5, 1);
  });
});
