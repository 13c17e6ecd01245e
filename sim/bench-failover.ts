/**
 * `npm run bench:failover`: randomized failover trials on the simulated world, per failure
 * class, for natbeat and the two baselines; the egress gap's p50/p99/max; the controller's cost
 * per AZ-month (common/cost-model.ts) beside a NAT Gateway's; and sweeps of the heartbeat period
 * and of CloudWatch's (unconfirmed) visibility delay. Prints one JSON object.
 *
 *   npm run -s bench:failover -- [--trials 100] [--seed N] [--sweep-trials N] [--quiet-runs N]
 *
 * --sweep-trials and --quiet-runs size the sweeps (default: from --trials); small values are for
 * smoke runs, not for figures.
 *
 * Each trial draws its own seed (so the phases of the schedule, the alarms, the agents and Auto
 * Scaling differ) and a fault time uniform within one schedule period. Besides the gaps it counts
 * what should not happen: false route moves (a table taken off its own zone's healthy NAT),
 * Unhealthy marks of a routing NAT, and pages; and the agents' failure reports. The alarm counts
 * for the cost come from synthesizing the CDK construct (bundling skipped).
 */
import { parseArgs } from 'node:util';
import { monthlyCost } from '../common/cost-model';
import { DEFAULT_CONFIG } from '../lambdas/core/config';
import type { ControlMode } from './nat';
import { DEFAULT_WORLD_PARAMS, type WorldParams } from './params';
import { Random } from './random';
import { runScenario } from './run';
import { gapStats, type GapStats } from './stats';
import { parseScenario, type Scenario } from './scenario';
import { GROUP_NAME } from './world/world';

const CLASSES: Record<string, { fault: Scenario['faults'][number]; description: string; seconds: number; baselineSeconds: number }> = {
  'routing-failure': { fault: { kind: 'stop-forwarding', at: 0, zone: 'a' }, description: 'agent-detected routing failure', seconds: 180, baselineSeconds: 600 },
  'silent-death': { fault: { kind: 'hang', at: 0, zone: 'a' }, description: 'instance hangs, agent gone', seconds: 180, baselineSeconds: 600 },
  'ec2-instance-loss': { fault: { kind: 'ec2-impaired', at: 0, zone: 'a' }, description: 'EC2-visible instance loss', seconds: 180, baselineSeconds: 600 },
  'planned-termination': { fault: { kind: 'planned-replacement', at: 0, zone: 'a' }, description: 'instance refresh / max lifetime', seconds: 300, baselineSeconds: 400 },
};
const MODES: ControlMode[] = ['natbeat', 'ec2StatusChecksOnly', 'takeoverAtBoot'];
const TARGETS = { 'routing-failure': 15, 'silent-death': 30, 'planned-termination': 0 } as Record<string, number>;
const COST_TARGET_PER_AZ_MONTH = 3;

function scenarioFor(name: string, durationSeconds: number): Scenario {
  const c = CLASSES[name]!;
  return parseScenario({ name, description: c.description, durationSeconds, faults: [c.fault] }, name);
}

async function trials(
  name: string,
  mode: ControlMode,
  count: number,
  rng: Random,
  overrides: { world?: Partial<WorldParams>; controller?: Partial<typeof DEFAULT_CONFIG> } = {},
): Promise<GapStats & Counters> {
  const c = CLASSES[name]!;
  const scenario = scenarioFor(name, mode === 'natbeat' ? c.seconds : c.baselineSeconds);
  const gaps = [];
  const counters = zeroCounters();
  for (let k = 0; k < count; k++) {
    const run = await runScenario(scenario, mode, {
      seed: rng.int(2 ** 31),
      timeline: false,
      faultOffsetMs: rng.uniform(0, DEFAULT_WORLD_PARAMS.schedulePeriodSeconds * 1000),
      world: overrides.world,
      controller: overrides.controller,
    });
    gaps.push({ seconds: run.egressGapSeconds, unrepaired: run.unrepaired });
    tally(counters, run);
  }
  return { ...gapStats(gaps), ...counters };
}

interface Counters {
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
}

function zeroCounters(): Counters {
  return { falseRouteMoves: 0, marksOfRoutingNats: 0, pages: 0, agentReports: 0, agentCrashes: 0 };
}

function tally(c: Counters, run: Awaited<ReturnType<typeof runScenario>>): void {
  c.falseRouteMoves += run.invariants.falseRouteMoves.length;
  c.marksOfRoutingNats += run.invariants.marksOfRoutingNats;
  c.pages += run.pages;
  c.agentReports += run.reports;
  c.agentCrashes += run.agentCrashes;
}

/** A healthy fleet for `hours` of virtual time in runs of 30 min: what goes wrong with no fault at all. */
async function quiet(runs: number, rng: Random, overrides: { world?: Partial<WorldParams>; controller?: Partial<typeof DEFAULT_CONFIG> }): Promise<Counters & { natHours: number }> {
  // The one fault comes after the end of the run: nothing happens.
  const scenario = parseScenario({ name: 'quiet', description: 'no fault', durationSeconds: 1800, faults: [{ kind: 'hang', at: 100_000, zone: 'a' }] }, 'quiet');
  const counters = zeroCounters();
  for (let k = 0; k < runs; k++) {
    tally(counters, await runScenario(scenario, 'natbeat', { seed: rng.int(2 ** 31), timeline: false, world: overrides.world, controller: overrides.controller }));
  }
  return { ...counters, natHours: runs * 3 * ((1800 + scenario.warmupSeconds) / 3600) };
}

/**
 * Alarm metrics the CDK construct really creates, from a synthesized example stack (bundling
 * skipped): high-resolution (period < 60 s) and standard, per AZ (named after an AZ) and
 * fleet-wide (each metric of a metric-math alarm is billed). Falls back to the simulator's mirror
 * of infra when the construct cannot be built.
 */
async function constructAlarmCounts(azs: string[]): Promise<{ from: string; highResolutionAlarmsPerAz: number; standardAlarmsPerAz: number; standardAlarmMetrics: number }> {
  try {
    const { App } = await import('aws-cdk-lib');
    const { ExampleStack } = await import('../infra/lib/example-stack');
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new ExampleStack(app, 'Bench', { env: { region: 'us-east-1' }, name: 'bench', availabilityZones: azs });
    const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const counts = { highPerAz: 0, standardPerAz: 0, standardFleet: 0, highFleet: 0 };
    for (const r of Object.values(template.Resources)) {
      if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
      const p = r.Properties as { Period?: number; AlarmName?: unknown; Metrics?: { MetricStat?: { Period?: number } }[] };
      const stats = p.Metrics?.filter((m) => m.MetricStat) ?? [];
      const periods = stats.length > 0 ? stats.map((m) => m.MetricStat!.Period ?? 60) : [p.Period ?? 60];
      const perAz = typeof p.AlarmName === 'string' && azs.some((az) => (p.AlarmName as string).endsWith(az));
      for (const period of periods) {
        const high = period < 60;
        if (perAz) counts[high ? 'highPerAz' : 'standardPerAz']++;
        else counts[high ? 'highFleet' : 'standardFleet']++;
      }
    }
    return {
      from: 'synthesized CDK construct (infra/lib/natbeat.ts)',
      highResolutionAlarmsPerAz: (counts.highPerAz + counts.highFleet) / azs.length,
      standardAlarmsPerAz: counts.standardPerAz / azs.length,
      standardAlarmMetrics: counts.standardFleet,
    };
  } catch (error) {
    console.error(`cannot synthesize the construct (${error instanceof Error ? error.message : String(error)}); using the simulator's alarms`);
    return { from: `simulator mirror (${GROUP_NAME}: 1 trigger, 1 page per AZ)`, highResolutionAlarmsPerAz: 1, standardAlarmsPerAz: 1, standardAlarmMetrics: 7 };
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { trials: { type: 'string', default: '100' }, seed: { type: 'string' }, 'sweep-trials': { type: 'string' }, 'quiet-runs': { type: 'string' } },
  });
  const count = Number(values.trials);
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const rng = new Random(seed);
  const started = Date.now();

  const alarms = await constructAlarmCounts(['us-east-1a', 'us-east-1b', 'us-east-1c']);
  const costOf = (heartbeatPeriodSeconds?: number) =>
    monthlyCost({
      azs: 3,
      heartbeatPeriodSeconds,
      highResolutionAlarmsPerAz: alarms.highResolutionAlarmsPerAz,
      standardAlarmsPerAz: alarms.standardAlarmsPerAz,
      standardAlarmMetrics: alarms.standardAlarmMetrics,
    });
  const classes: Record<string, Record<string, GapStats & Counters>> = {};
  for (const name of Object.keys(CLASSES)) {
    classes[name] = {};
    for (const mode of MODES) {
      // Baselines do nothing clever: a quarter of the trials shows their (long) gaps well enough.
      classes[name][mode] = await trials(name, mode, mode === 'natbeat' ? count : Math.max(5, Math.round(count / 4)), rng);
    }
  }

  const sweepTrials = values['sweep-trials'] !== undefined ? Number(values['sweep-trials']) : Math.max(10, Math.round(count / 3));
  const quietRuns = values['quiet-runs'] !== undefined ? Number(values['quiet-runs']) : Math.max(4, Math.round(count / 10));
  // The controller's silence window scales with the heartbeat period (default 25 s at 10 s).
  const heartbeatSweep = [];
  for (const period of [5, 10, 20, 30]) {
    const silenceSeconds = Math.round(period * (DEFAULT_CONFIG.silenceSeconds / DEFAULT_CONFIG.heartbeatPeriodSeconds));
    const overrides = { world: { heartbeatPeriodSeconds: period }, controller: { heartbeatPeriodSeconds: period, silenceSeconds } };
    heartbeatSweep.push({
      heartbeatPeriodSeconds: period,
      silenceSeconds,
      routingFailure: await trials('routing-failure', 'natbeat', sweepTrials, rng, overrides),
      silentDeath: await trials('silent-death', 'natbeat', sweepTrials, rng, overrides),
      controllerPerAzMonthUsd: round2(costOf(period).controllerPerAzMonthUsd),
    });
  }
  // The silence window: how soon a silent NAT is acted on, against how often a healthy one looks
  // silent. False moves are counted over a quiet fleet, at the default visibility delay and with
  // extra visibility jitter (an unconfirmed sensitivity).
  const silenceSweep = [];
  for (const silenceSeconds of [15, 20, 25]) {
    const row: Record<string, unknown> = { silenceSeconds };
    for (const jitter of [0, 5, 10]) {
      const overrides = { controller: { silenceSeconds }, world: { metricVisibilityJitterSeconds: jitter } };
      row[`visibilityJitter${jitter}s`] = {
        silentDeath: await trials('silent-death', 'natbeat', jitter === 0 ? count : sweepTrials, rng, overrides),
        quietFleet: await quiet(quietRuns, rng, overrides),
      };
    }
    silenceSweep.push(row);
  }
  // The agent's report against the alarm path alone.
  const withoutReports = await trials('routing-failure', 'natbeat', count, rng, { world: { agentFailureReports: false } });
  const visibilitySweep = [];
  for (const visibility of [0, 2, 5, 10, 15]) {
    const overrides = { world: { metricVisibilitySeconds: visibility } };
    visibilitySweep.push({
      metricVisibilitySeconds: visibility,
      routingFailure: await trials('routing-failure', 'natbeat', sweepTrials, rng, overrides),
      silentDeath: await trials('silent-death', 'natbeat', sweepTrials, rng, overrides),
    });
  }

  const cost = costOf();
  const natbeat = (name: string) => classes[name]!.natbeat!;
  const seconds = (g: GapStats) => (g.p50 === null ? 'never repaired' : `p50 ${g.p50} / p99 ${g.p99} s`);
  for (const name of Object.keys(CLASSES)) process.stderr.write(`${name}: natbeat ${seconds(natbeat(name))}\n`);
  process.stderr.write(`controller $${round2(cost.controllerPerAzMonthUsd)} per AZ-month (3 AZs), NAT Gateway $${round2(cost.natGatewayPerAzMonthUsd)}; seed ${seed}\n`);
  console.log(
    JSON.stringify(
      {
        seed,
        trialsPerClass: { natbeat: count, baselines: Math.max(5, Math.round(count / 4)), sweeps: sweepTrials, quietFleetRuns: `${quietRuns} × 30 min, 3 NATs` },
        faultTime: `uniform within one ${DEFAULT_WORLD_PARAMS.schedulePeriodSeconds} s schedule period; phases of schedule, alarms, agents and Auto Scaling random per trial`,
        world: DEFAULT_WORLD_PARAMS,
        controller: { silenceSeconds: DEFAULT_CONFIG.silenceSeconds, heartbeatPeriodSeconds: DEFAULT_CONFIG.heartbeatPeriodSeconds, failbackHeartbeats: DEFAULT_CONFIG.failbackHeartbeats },
        egressGapSeconds: classes,
        routingFailureWithoutAgentReports: withoutReports,
        targets: Object.fromEntries(
          Object.entries(TARGETS).map(([name, target]) => [name, { p99TargetSeconds: target, p99: natbeat(name).p99, met: natbeat(name).p99 !== null && natbeat(name).p99! <= target }]),
        ),
        cost: {
          azs: 3,
          controllerPerAzMonthUsd: round2(cost.controllerPerAzMonthUsd),
          natInstancePerAzMonthUsd: round2(cost.natInstancePerAzMonthUsd),
          natbeatPerAzMonthUsd: round2(cost.natbeatPerAzMonthUsd),
          natGatewayPerAzMonthUsd: round2(cost.natGatewayPerAzMonthUsd),
          controllerTargetPerAzMonthUsd: COST_TARGET_PER_AZ_MONTH,
          alarms,
          met: cost.controllerPerAzMonthUsd <= COST_TARGET_PER_AZ_MONTH,
          lines: cost.lines.filter((l) => l.category === 'controller').map((l) => ({ item: l.item, monthlyUsd: round2(l.monthlyUsd) })),
        },
        heartbeatSweep,
        silenceSweep,
        visibilitySweep,
        elapsedSeconds: Math.round((Date.now() - started) / 100) / 10,
      },
      null,
      1,
    ),
  );
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
