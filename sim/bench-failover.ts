/**
 * `npm run bench:failover`: randomized failover trials on the simulated world under one profile
 * of assumptions (sim/params.ts), per failure class, for natbeat and the two baselines: the egress
 * gap's p50/p99/max, the time until the last affected route was written, false moves, marks of
 * routing NATs and the connections each trial's route changes reset; sweeps of CloudWatch's
 * (undocumented) evaluation range and of route propagation; the controller's cost per AZ-month
 * (common/cost-model.ts) beside a NAT Gateway's. Prints one JSON object on stdout, a summary on
 * stderr.
 *
 *   npm run -s bench:failover -- [--profile pessimistic|optimistic] [--trials 40] [--seed N]
 *                                   [--sweeps heartbeat,intake,visibility,silence] (default heartbeat,intake)
 *                                   [--more-sweeps] (= every sweep)
 *                                   [--sweep-trials N] [--quiet-runs N]   (sizes for smoke runs, not for figures)
 *
 * Each trial draws its own seed (so the phases of the schedule, the alarms, the agents and Auto
 * Scaling differ) and a fault time uniform within one schedule period. A target's p99 is the time
 * from the fault until the last affected table's route is written (propagation excluded: an AWS
 * constant nobody has published, the same for every design); the egress gap includes it.
 */
import { parseArgs } from 'node:util';
import { monthlyCost } from '../common/cost-model';
import { DEFAULT_CONFIG } from '../lambdas/core/config';
import { constructAlarmCountsInChild } from './bench/construct';
import { brief, moreSweeps, SWEEPS, type SweepName } from './bench/more-sweeps';
import { trustTrials } from './bench/trust';
import { CLASSES, quiet, trials, type TrialStats } from './bench/trials';
import type { ControlMode } from './nat';
import { DEFAULT_PROFILE, PROFILES, profileNamed } from './params';
import { Random } from './random';

const MODES: ControlMode[] = ['natbeat', 'ec2StatusChecksOnly', 'takeoverAtBoot'];
/** The goals of the detection work: p99 from the fault until the route is written. */
const TARGETS: Record<string, number> = { 'routing-failure': 6, 'silent-death': 15, 'silent-death-2az': 30, 'planned-termination': 0 };
const COST_TARGET_PER_AZ_MONTH = 1.5;
const EVALUATION_RANGES = [2, 3, 4, 5, 6];
const PROPAGATION_SECONDS = [0, 1, 2, 3, 4, 5];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '40' },
      seed: { type: 'string' },
      profile: { type: 'string', default: DEFAULT_PROFILE },
      sweeps: { type: 'string', default: 'heartbeat,intake' },
      'more-sweeps': { type: 'boolean', default: false },
      'sweep-trials': { type: 'string' },
      'quiet-runs': { type: 'string' },
    },
  });
  const profile = profileNamed(values.profile);
  const count = Number(values.trials);
  if (!(Number.isInteger(count) && count >= 1)) throw new Error(`--trials must be a whole number ≥ 1 (got ${values.trials})`);
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const rng = new Random(seed);
  const started = Date.now();
  const alarmCounts = constructAlarmCountsInChild(['us-east-1a', 'us-east-1b', 'us-east-1c']);
  // Baselines do nothing clever (their gaps barely vary) and sweeps show trends: fewer trials
  // keep `--trials 40` under 3 minutes on a small shared machine.
  const baselineTrials = Math.max(4, Math.round(count / 8));
  const sweepTrials = values['sweep-trials'] !== undefined ? Number(values['sweep-trials']) : Math.max(6, Math.round(count / 6));
  const plannedSweepTrials = Math.max(3, Math.round(sweepTrials / 2));
  const quietRuns = values['quiet-runs'] !== undefined ? Number(values['quiet-runs']) : Math.max(3, Math.round(count / 10));

  const classes: Record<string, Record<string, TrialStats>> = {};
  for (const name of Object.keys(CLASSES)) {
    classes[name] = {};
    for (const mode of MODES) classes[name][mode] = await trials(profile, name, mode, mode === 'natbeat' ? count : baselineTrials, rng);
    progress(`${name}: natbeat p99 ${classes[name].natbeat!.p99} s (route written ${classes[name].natbeat!.routeWrittenP99} s)`, started);
  }
  const quietFleet = await quiet(profile, quietRuns, rng, {});
  // The same fleet while one zone's NAT is cut off from its peers for the whole run.
  const quietFleetPartitioned = await quiet(profile, quietRuns, rng, {}, [{ kind: 'partition', at: 0, zone: 'a', until: 1800 }]);
  const trust = await trustTrials(profile, Math.max(4, Math.round(count / 4)), rng);
  progress('quiet fleets and trust scenarios done', started);

  /** One row per value of a world parameter, natbeat's trials of the given classes in each. */
  const sweep = async (param: 'alarmEvaluationRangePeriods' | 'routePropagationSeconds', label: string, values: number[], runs: [key: string, name: string, trials: number][]) => {
    const rows: Record<string, unknown>[] = [];
    for (const value of values) {
      const row: Record<string, unknown> = { [label]: value };
      for (const [key, name, n] of runs) row[key] = brief(await trials(profile, name, 'natbeat', n, rng, { world: { [param]: value } }));
      rows.push(row);
    }
    return rows;
  };
  // CloudWatch's evaluation range is undocumented: how much of the gap it is.
  const evaluationRange = await sweep('alarmEvaluationRangePeriods', 'periods', EVALUATION_RANGES, [
    ['routingFailure', 'routing-failure', sweepTrials],
    ['silentDeath', 'silent-death', sweepTrials],
  ]);
  progress('evaluation-range sweep done', started);
  // Nobody has published how long a written route takes to carry traffic. A planned termination's
  // gap is nearly deterministic (the propagation delay itself): fewer trials.
  const routePropagation = await sweep('routePropagationSeconds', 'seconds', PROPAGATION_SECONDS, [
    ['routingFailure', 'routing-failure', sweepTrials],
    ['plannedTermination', 'planned-termination', plannedSweepTrials],
  ]);
  progress('route-propagation sweep done', started);

  const alarms = await alarmCounts;
  const costOf = (heartbeatPeriodSeconds?: number) =>
    monthlyCost({
      azs: 3,
      heartbeatPeriodSeconds,
      highResolutionAlarmsPerAz: alarms.highResolutionAlarmsPerAz,
      standardAlarmsPerAz: alarms.standardAlarmsPerAz,
      standardAlarmMetrics: alarms.standardAlarmMetrics,
    });
  const sweepNames = values['more-sweeps'] ? [...SWEEPS] : values.sweeps.split(',').filter(Boolean).map(sweepNamed);
  const extra = await moreSweeps(sweepNames, profile, count, sweepTrials, quietRuns, rng, (p) => round2(costOf(p).controllerPerAzMonthUsd));
  progress(`sweeps ${sweepNames.join(', ')} done`, started);

  const cost = costOf();
  const natbeat = (name: string) => classes[name]!.natbeat!;
  const result = {
    profile,
    seed,
    trialsPerClass: { natbeat: count, baselines: baselineTrials, sweeps: sweepTrials, plannedTerminationInPropagationSweep: plannedSweepTrials, quietFleetRuns: `${quietRuns} × 30 min, 3 NATs` },
    faultTime: `uniform within one ${PROFILES[profile].schedulePeriodSeconds} s schedule period; phases of schedule, alarms, agents and Auto Scaling random per trial`,
    world: PROFILES[profile],
    controller: { silenceSeconds: DEFAULT_CONFIG.silenceSeconds, heartbeatPeriodSeconds: DEFAULT_CONFIG.heartbeatPeriodSeconds, failbackHeartbeats: DEFAULT_CONFIG.failbackHeartbeats },
    targets: Object.fromEntries(
      Object.entries(TARGETS).map(([name, target]) => {
        const p99 = natbeat(name).routeWrittenP99;
        return [name, { p99TargetSeconds: target, p99, met: p99 !== null && p99 <= target }];
      }),
    ),
    egressGapSeconds: classes,
    quietFleet,
    quietFleetPartitioned,
    trust,
    sweeps: { evaluationRange, routePropagation, ...extra },
    cost: {
      azs: 3,
      controllerPerAzMonthUsd: round2(cost.controllerPerAzMonthUsd),
      controllerTargetPerAzMonthUsd: COST_TARGET_PER_AZ_MONTH,
      met: cost.controllerPerAzMonthUsd <= COST_TARGET_PER_AZ_MONTH,
      natInstancePerAzMonthUsd: round2(cost.natInstancePerAzMonthUsd),
      natbeatPerAzMonthUsd: round2(cost.natbeatPerAzMonthUsd),
      natGatewayPerAzMonthUsd: round2(cost.natGatewayPerAzMonthUsd),
      alarms,
      lines: cost.lines
        .filter((l) => l.category === 'controller')
        .map((l) => ({ item: l.item, scope: l.scope, monthlyUsd: round2(l.monthlyUsd), perAzMonthUsd: round2(l.monthlyUsd / 3), source: l.source })),
    },
    elapsedSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
  console.log(JSON.stringify(result, null, 1));
  summary(result.targets, classes, result.cost.controllerPerAzMonthUsd, profile);
}

function sweepNamed(name: string): SweepName {
  if ((SWEEPS as readonly string[]).includes(name)) return name as SweepName;
  throw new Error(`unknown sweep "${name}": use ${SWEEPS.join(', ')}`);
}

function progress(message: string, started: number): void {
  console.error(`[${Math.round((Date.now() - started) / 1000)} s] ${message}`);
}

function summary(targets: Record<string, { p99TargetSeconds: number; p99: number | null; met: boolean }>, classes: Record<string, Record<string, TrialStats>>, costPerAz: number, profile: string): void {
  console.error(`\nprofile ${profile}: natbeat egress gap p50 / p99 (route written p99), flows reset per trial`);
  for (const [name, modes] of Object.entries(classes)) {
    const n = modes.natbeat!;
    console.error(`  ${name.padEnd(20)} ${n.p50} / ${n.p99} s (${n.routeWrittenP99} s), ${n.flowsResetPerTrial} flows`);
  }
  for (const [name, t] of Object.entries(targets)) console.error(`  target ${name}: p99 ${t.p99} s ≤ ${t.p99TargetSeconds} s? ${t.met ? 'met' : 'NOT met'}`);
  console.error(`  controller $${costPerAz} per AZ-month ≤ $${COST_TARGET_PER_AZ_MONTH}? ${costPerAz <= COST_TARGET_PER_AZ_MONTH ? 'met' : 'NOT met'}`);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

main()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
