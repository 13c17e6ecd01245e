import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import { PROFILES } from '../../sim/params';
import { runScenario } from '../../sim/run';
import { loadScenario } from '../../sim/scenario';

// The trust rule, in the simulated world with natbeat's real handlers and agent: one compromised
// NAT (its own role's credentials, nothing else) forges what it can about its peers.
const SEEDS = [1, 2, 3, 4, 5, 6];
/** Six whole runs in one test: room for a loaded machine. */
const SEED_LOOP_TIMEOUT_MS = 180_000;
const p = PROFILES.pessimistic;
/** Clause (c)'s bound: the silence window, the schedule (its period and lateness, then delivery), and 5 s for the run's own calls. */
const SLOW_PATH_SECONDS = DEFAULT_CONFIG.silenceSeconds + p.schedulePeriodSeconds + p.scheduleJitterSeconds + p.eventDeliverySeconds.max + 5;

// Printed, so the gap shows in every run until the agent's heartbeats go through the intake.

describe('Trust rule in the simulator: one compromised NAT', () => {
  it('a partition between zones moves no route and marks no NAT (the cut-off NAT still routes and still reaches the intake)', async () => {
    for (const seed of SEEDS) {
      const run = await runScenario(loadScenario('partition'), 'natbeat', { seed, timeline: false });
      expect(run.routeMoves).toEqual([]);
      expect(run.invariants.falseRouteMoves).toEqual([]);
      expect(run.invariants.marksOfRoutingNats).toBe(0);
      expect(run.egressGapSeconds).toBe(0);
    }
  });

  it('the world refuses the compromised NAT every write to the report log, whatever it claims', async () => {
    const run = await runScenario(loadScenario('compromised-accuses-peers'), 'natbeat', { seed: 1, timeline: false });
    const log = Object.entries(run.trust.forgeries).filter(([k]) => k.startsWith('log '));
    expect(log.length).toBeGreaterThan(0);
    expect(log.every(([k]) => k === 'log AccessDeniedException 400')).toBe(true);
  });

  it('(a) no healthy peer is marked Unhealthy, over many seeds; its datapoints and log items are refused', async () => {
    for (const seed of SEEDS) {
      const run = await runScenario(loadScenario('compromised-accuses-peers'), 'natbeat', { seed, timeline: false });
      expect(run.trust.healthyPeersMarked).toBe(0);
      expect(run.trust.forgeries['metrics accepted'] ?? 0).toBe(0);
      expect(run.trust.forgeries['log accepted'] ?? 0).toBe(0);
    }
  }, SEED_LOOP_TIMEOUT_MS);

  it('(b) no healthy zone\'s table moves, to the compromised NAT or at all, over many seeds', async () => {
    for (const seed of SEEDS) {
      const run = await runScenario(loadScenario('compromised-accuses-peers'), 'natbeat', { seed, timeline: false });
      expect(run.trust.tablesAttracted).toBe(0);
      expect(run.trust.healthyZoneMoves).toBe(0);
    }
  }, SEED_LOOP_TIMEOUT_MS);

  it(`(c) a dead NAT whose only witness is compromised has its table moved within the slow path (${SLOW_PATH_SECONDS} s), over many seeds`, async () => {
    for (const seed of SEEDS) {
      const run = await runScenario(loadScenario('compromised-shields-dead-peer'), 'natbeat', { seed, timeline: false });
      expect(run.unrepaired).toBe(false);
      expect(run.routeWrittenSeconds).toBeGreaterThan(0);
      expect(run.routeWrittenSeconds).toBeLessThanOrEqual(SLOW_PATH_SECONDS);
      // (With 2 AZs the compromised NAT is the only one left that routes: the table may go to it.)
    }
  }, SEED_LOOP_TIMEOUT_MS);
});
