/**
 * `npm run bench:failover`: randomized failover trials on the simulated world, per failure
 * class, for natbeat and the two baselines; the egress gap's p50/p99/max; the controller's cost
 * per AZ-month (common/cost-model.ts) beside a NAT Gateway's; and sweeps of the heartbeat period
 * and of CloudWatch's (unconfirmed) visibility delay. Prints one JSON object.
 *
 *   npm run -s bench:failover -- [--trials 60] [--seed N]
 *
 * Each trial draws its own seed (so the phases of the schedule, the alarms, the agents and Auto
 * Scaling differ) and a fault time uniform within one schedule period.
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
): Promise<GapStats> {
  const c = CLASSES[name]!;
  const scenario = scenarioFor(name, mode === 'natbeat' ? c.seconds : c.baselineSeconds);
  const gaps = [];
  for (let k = 0; k < count; k++) {
    const run = await runScenario(scenario, mode, {
      seed: rng.int(2 ** 31),
      timeline: false,
      faultOffsetMs: rng.uniform(0, DEFAULT_WORLD_PARAMS.schedulePeriodSeconds * 1000),
      world: overrides.world,
      controller: overrides.controller,
    });
    gaps.push({ seconds: run.egressGapSeconds, unrepaired: run.unrepaired });
  }
  return gapStats(gaps);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { trials: { type: 'string', default: '60' }, seed: { type: 'string' } } });
  const count = Number(values.trials);
  const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
  const rng = new Random(seed);
  const started = Date.now();

  const classes: Record<string, Record<string, GapStats>> = {};
  for (const name of Object.keys(CLASSES)) {
    classes[name] = {};
    for (const mode of MODES) {
      // Baselines do nothing clever: a quarter of the trials shows their (long) gaps well enough.
      classes[name][mode] = await trials(name, mode, mode === 'natbeat' ? count : Math.max(5, Math.round(count / 4)), rng);
    }
  }

  const sweepTrials = Math.max(10, Math.round(count / 3));
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
      controllerPerAzMonthUsd: round2(monthlyCost({ azs: 3, heartbeatPeriodSeconds: period }).controllerPerAzMonthUsd),
    });
  }
  const silenceSweep = [];
  for (const silenceSeconds of [15, 20, 25]) {
    const overrides = { controller: { silenceSeconds } };
    silenceSweep.push({ silenceSeconds, silentDeath: await trials('silent-death', 'natbeat', sweepTrials, rng, overrides) });
  }
  const visibilitySweep = [];
  for (const visibility of [0, 2, 5, 10, 15]) {
    const overrides = { world: { metricVisibilitySeconds: visibility } };
    visibilitySweep.push({
      metricVisibilitySeconds: visibility,
      routingFailure: await trials('routing-failure', 'natbeat', sweepTrials, rng, overrides),
      silentDeath: await trials('silent-death', 'natbeat', sweepTrials, rng, overrides),
    });
  }

  const cost = monthlyCost({ azs: 3 });
  const natbeat = (name: string) => classes[name]!.natbeat!;
  console.log(
    JSON.stringify(
      {
        seed,
        trialsPerClass: { natbeat: count, baselines: Math.max(5, Math.round(count / 4)), sweeps: sweepTrials },
        faultTime: `uniform within one ${DEFAULT_WORLD_PARAMS.schedulePeriodSeconds} s schedule period; phases of schedule, alarms, agents and Auto Scaling random per trial`,
        world: DEFAULT_WORLD_PARAMS,
        controller: { silenceSeconds: DEFAULT_CONFIG.silenceSeconds, heartbeatPeriodSeconds: DEFAULT_CONFIG.heartbeatPeriodSeconds, failbackHeartbeats: DEFAULT_CONFIG.failbackHeartbeats },
        egressGapSeconds: classes,
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
