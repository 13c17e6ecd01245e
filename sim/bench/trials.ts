/**
 * Randomized failover trials on the simulated world: per failure class and control scheme, the
 * egress gap's percentiles, the time until the route was written, and what should not happen
 * (false route moves, Unhealthy marks of a routing NAT, pages), plus the connections reset.
 */
import type { DEFAULT_CONFIG } from '../../lambdas/core/config';
import type { ControlMode } from '../nat';
import type { ProfileName, WorldParams } from '../params';
import { PROFILES } from '../params';
import type { Random } from '../random';
import { runScenario, type RunResult } from '../run';
import { gapStats, type GapStats } from '../stats';
import { parseScenario, type Scenario } from '../scenario';

export const CLASSES: Record<string, { fault: Scenario['faults'][number]; description: string; seconds: number; baselineSeconds: number; zones?: number }> = {
  'routing-failure': { fault: { kind: 'stop-forwarding', at: 0, zone: 'a' }, description: 'agent-detected routing failure', seconds: 180, baselineSeconds: 600 },
  'silent-death': { fault: { kind: 'hang', at: 0, zone: 'a' }, description: 'instance hangs, agent gone', seconds: 180, baselineSeconds: 600 },
  'silent-death-2az': { fault: { kind: 'hang', at: 0, zone: 'a' }, description: 'instance hangs, agent gone, 2 AZs (one peer witness)', seconds: 180, baselineSeconds: 600, zones: 2 },
  'ec2-instance-loss': { fault: { kind: 'ec2-impaired', at: 0, zone: 'a' }, description: 'EC2-visible instance loss', seconds: 180, baselineSeconds: 600 },
  'planned-termination': { fault: { kind: 'planned-replacement', at: 0, zone: 'a' }, description: 'instance refresh / max lifetime', seconds: 300, baselineSeconds: 400 },
};

export interface Overrides {
  world?: Partial<WorldParams>;
  controller?: Partial<typeof DEFAULT_CONFIG>;
}

export interface Counters {
  /** Route writes taking a table off its own zone's healthy NAT (all trials together). */
  falseRouteMoves: number;
  /** Unhealthy marks of a NAT that was routing at that moment. */
  marksOfRoutingNats: number;
  /** ZoneSilent pages. */
  pages: number;
  /** Failure reports the agents sent. */
  agentReports: number;
  /** Agent processes that died (restarted by systemd 2 s later). */
  agentCrashes: number;
  /** Connections reset by route changes, per trial (mean over the trials). */
  flowsResetPerTrial: number;
  /** Route changes traffic followed, per trial (mean), and how many of them were planned. */
  routeMovesPerTrial: number;
  plannedMovesPerTrial: number;
}

export type TrialStats = GapStats & Counters & { routeWrittenP50: number | null; routeWrittenP99: number | null };

export function zeroCounters(): Counters {
  return { falseRouteMoves: 0, marksOfRoutingNats: 0, pages: 0, agentReports: 0, agentCrashes: 0, flowsResetPerTrial: 0, routeMovesPerTrial: 0, plannedMovesPerTrial: 0 };
}

export function tally(c: Counters, run: RunResult): void {
  c.falseRouteMoves += run.invariants.falseRouteMoves.length;
  c.marksOfRoutingNats += run.invariants.marksOfRoutingNats;
  c.pages += run.pages;
  c.agentReports += run.reports;
  c.agentCrashes += run.agentCrashes;
  c.flowsResetPerTrial += run.flowsReset;
  c.routeMovesPerTrial += run.routeMoves.length;
  c.plannedMovesPerTrial += run.routeMoves.filter((m) => m.planned).length;
}

function perTrial(c: Counters, trials: number): Counters {
  const mean = (x: number) => Math.round((x / Math.max(1, trials)) * 10) / 10;
  return { ...c, flowsResetPerTrial: mean(c.flowsResetPerTrial), routeMovesPerTrial: mean(c.routeMovesPerTrial), plannedMovesPerTrial: mean(c.plannedMovesPerTrial) };
}

function scenarioFor(name: string, durationSeconds: number): Scenario {
  const c = CLASSES[name]!;
  return parseScenario({ name, description: c.description, durationSeconds, faults: [c.fault], ...(c.zones ? { zones: c.zones } : {}) }, name);
}

/** `count` trials of one class: each its own seed and a fault time uniform within one schedule period. */
export async function trials(profile: ProfileName, name: string, mode: ControlMode, count: number, rng: Random, overrides: Overrides = {}): Promise<TrialStats> {
  const c = CLASSES[name]!;
  const scenario = scenarioFor(name, mode === 'natbeat' ? c.seconds : c.baselineSeconds);
  const gaps = [];
  const written = [];
  const counters = zeroCounters();
  for (let k = 0; k < count; k++) {
    const run = await runScenario(scenario, mode, {
      seed: rng.int(2 ** 31),
      timeline: false,
      profile,
      faultOffsetMs: rng.uniform(0, PROFILES[profile].schedulePeriodSeconds * 1000),
      world: overrides.world,
      controller: overrides.controller,
    });
    gaps.push({ seconds: run.egressGapSeconds, unrepaired: run.unrepaired });
    written.push({ seconds: run.routeWrittenSeconds, unrepaired: run.unrepaired });
    tally(counters, run);
  }
  const writtenStats = gapStats(written);
  return { ...gapStats(gaps), routeWrittenP50: writtenStats.p50, routeWrittenP99: writtenStats.p99, ...perTrial(counters, count) };
}

/**
 * A healthy fleet in runs of 30 min: what goes wrong with no fault at all, or (`faults`) with
 * faults that must change nothing (a partition between the NATs).
 */
export async function quiet(profile: ProfileName, runs: number, rng: Random, overrides: Overrides, faults?: Scenario['faults']): Promise<Counters & { natHours: number }> {
  // Without faults, the one fault comes after the end of the run: nothing happens.
  const scenario = parseScenario({ name: 'quiet', description: 'no fault', durationSeconds: 1800, faults: faults ?? [{ kind: 'hang', at: 100_000, zone: 'a' }] }, 'quiet');
  const counters = zeroCounters();
  for (let k = 0; k < runs; k++) {
    tally(counters, await runScenario(scenario, 'natbeat', { seed: rng.int(2 ** 31), timeline: false, profile, world: overrides.world, controller: overrides.controller }));
  }
  return { ...perTrial(counters, runs), natHours: runs * 3 * ((1800 + scenario.warmupSeconds) / 3600) };
}
