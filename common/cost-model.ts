/**
 * Monthly cost model: what natbeat's controller and NAT instances cost per AZ, next to a NAT Gateway
 * per AZ. Shared by `natbeat cost` and the failover benchmark's cost table, so the two cannot disagree.
 *
 * It counts what natbeat really does:
 * - the agent sends one PutMetricData per heartbeat period carrying two datums (per-instance and
 *   per-zone series): 1 request, 2 custom metrics per NAT;
 * - every reconcile run reads one heartbeat metric per NAT with GetMetricData;
 * - the CDK construct creates, per AZ, 1 high-resolution trigger alarm (zone heartbeat) and 1 standard
 *   paging alarm (zone silent), and a few standard fleet-wide alarms;
 * - the controller emits its own EMF metrics (fleet-wide, shared by every AZ);
 * - the construct's dashboard, the KMS key of the alarm topic (with its rotations), the topic,
 *   the Lambdas' log groups: every resource type of the synthesized construct has a line or is
 *   listed as free (cost-prices.ts), and each line says whether it grows per AZ or is fleet-wide.
 *
 * Prices are us-east-1 list prices; free tiers are ignored (an account's other workloads use them).
 */
import { controllerLines } from './cost-controller';
import { PRICES } from './cost-prices';
import { DEFAULT_HEARTBEAT_PERIOD_SECONDS, HEARTBEAT_PERIOD_RANGE_SECONDS } from './heartbeat';

export { PRICES } from './cost-prices';

/** AWS's pricing calculator bills hourly resources at 730 h a month (8,760 h / 12). */
export const HOURS_PER_MONTH = 730;

export interface CostInputs {
  /** Availability zones with a NAT (and a NAT Gateway in the comparison). */
  azs: number;
  /** NATs per AZ. @default 1 */
  natsPerAz?: number;
  /** Seconds between two healthy heartbeats. @default DEFAULT_HEARTBEAT_PERIOD_SECONDS (10) */
  heartbeatPeriodSeconds?: number;
  /** Minutes between scheduled reconcile runs. @default 1 */
  scheduleMinutes?: number;
  /** Hours in the billed month. @default HOURS_PER_MONTH (730) */
  hoursPerMonth?: number;
  /** High-resolution alarm metrics per AZ (the zone heartbeat trigger). @default 1 */
  highResolutionAlarmsPerAz?: number;
  /** Standard-resolution alarm metrics per AZ (the zone silent page, 60 s periods). @default 1 */
  standardAlarmsPerAz?: number;
  /**
   * Standard alarm metrics, fleet-wide: zone without same-AZ NAT, no NAT anywhere, reconcile
   * stopped (dead-man's switch), safety valve, controller dead letters (1 each) and controller
   * errors, whose metric math reads 3 metrics (billed per metric). @default 8
   */
  standardAlarmMetrics?: number;
  /**
   * Controller EMF metric-months (fleet-wide). Only ReconcileRuns is sent on every run; the other
   * counts are sent while they are not zero, and a metric is billed for the hours it has data.
   * @default 1.5 (ReconcileRuns, plus about half a metric-month of failovers and replacements)
   */
  controllerMetrics?: number;
  /** Heartbeat metrics read per NAT in one reconcile run. @default 1 */
  queriesPerNatPerReconcile?: number;
  /**
   * NAT replacements per NAT per month (each new instance id is a new per-instance metric).
   * @default 30 / 14 (the construct's 14-day maximum instance lifetime)
   */
  replacementsPerNatMonth?: number;
  /** Hours a replaced NAT's old and new per-instance metrics are both billed. @default 1 */
  replacementOverlapHours?: number;
  /**
   * Extra reconcile runs per replacement, beyond the schedule: the zone alarm's ALARM and OK
   * transitions and the launch and terminate lifecycle events. @default 4
   */
  extraReconcilesPerReplacement?: number;
  /**
   * Extra reconcile runs per month for anything else: failures, trigger-alarm flapping, the
   * agents' failure hints. @default 0
   */
  extraReconcilesPerMonth?: number;
  /**
   * Dashboards billed: the construct creates one; an account's first 3 are free, so this is 0
   * in an account with no other dashboard. @default 1 (an account that already uses its free ones)
   */
  billedDashboards?: number;
  /**
   * Rotations of the alarm topic's KMS key so far (yearly, automatic): each of the first two adds
   * $1 a month, later ones nothing. @default 2 (the steady state from the third year on)
   */
  kmsKeyRotations?: number;
  /** Alarm notifications a month (SNS publishes, each with a KMS data-key request and an email). GUESS. @default 100 */
  alarmNotificationsPerMonth?: number;
  /** Lifecycle Lambda runs per replacement (launch and terminate hooks). @default 2 */
  lifecycleRunsPerReplacement?: number;
  /** Log retention of the Lambdas' log groups, days (the construct's setting). @default 30 */
  logRetentionDays?: number;
  /** Controller Lambda memory. @default 256 (the construct's setting) */
  lambdaMemoryMb?: number;
  /** Average billed duration of one reconcile run. @default 400 */
  lambdaAvgMs?: number;
  /** Log bytes (EMF + structured logs) one reconcile run writes. @default 2048 */
  logBytesPerReconcile?: number;
  /** NAT instance price per hour. @default PRICES.t4gNanoHour (t4g.nano) */
  instanceHourUsd?: number;
  /** Root volume size of a NAT instance in GB (gp3). @default 8 */
  instanceVolumeGb?: number;
  /** GB processed per AZ-month: a NAT Gateway charges for it, a NAT instance does not. @default 0 */
  dataGbPerAzMonth?: number;
}

export type CostCategory = 'controller' | 'nat-instance' | 'nat-gateway';

export interface CostLine {
  category: CostCategory;
  item: string;
  /** Grows with every AZ (per-AZ), or one for the whole deployment, shared by its AZs (fleet-wide). */
  scope: 'per-AZ' | 'fleet-wide';
  /** CloudFormation resource types of the construct this line bills (none: a runtime usage such as API requests). */
  resourceTypes?: string[];
  /** Billed units a month, fleet-wide. */
  quantity: number;
  unit: string;
  unitPrice: number;
  monthlyUsd: number;
  source: string;
}

export interface CostReport {
  /** Inputs with every default applied. */
  inputs: Required<CostInputs>;
  /** Fleet-wide lines, one per billed item. */
  lines: CostLine[];
  controllerMonthUsd: number;
  controllerPerAzMonthUsd: number;
  natInstancePerAzMonthUsd: number;
  /** Controller share plus the NAT instances of one AZ. */
  natbeatPerAzMonthUsd: number;
  natGatewayPerAzMonthUsd: number;
  savingsPerAzMonthUsd: number;
  assumptions: string[];
}

export const COST_DEFAULTS: Omit<Required<CostInputs>, 'azs'> = {
  natsPerAz: 1,
  heartbeatPeriodSeconds: DEFAULT_HEARTBEAT_PERIOD_SECONDS,
  scheduleMinutes: 1,
  hoursPerMonth: HOURS_PER_MONTH,
  highResolutionAlarmsPerAz: 1,
  standardAlarmsPerAz: 1,
  standardAlarmMetrics: 8,
  controllerMetrics: 1.5,
  queriesPerNatPerReconcile: 1,
  replacementsPerNatMonth: 30 / 14,
  replacementOverlapHours: 1,
  extraReconcilesPerReplacement: 4,
  extraReconcilesPerMonth: 0,
  billedDashboards: 1,
  kmsKeyRotations: 2,
  alarmNotificationsPerMonth: 100,
  lifecycleRunsPerReplacement: 2,
  logRetentionDays: 30,
  lambdaMemoryMb: 256,
  lambdaAvgMs: 400,
  logBytesPerReconcile: 2048,
  instanceHourUsd: PRICES.t4gNanoHour,
  instanceVolumeGb: 8,
  dataGbPerAzMonth: 0,
};

/** Thrown when an input is out of range; the message names the input and the allowed range. */
export class CostInputError extends Error {}

function check(name: string, value: number, min: number, integer = false, max = Infinity): void {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new CostInputError(`${name} must be ${integer ? 'a whole number' : 'a number'} ${range} (got ${value})`);
  }
}

export function resolveCostInputs(inputs: CostInputs): Required<CostInputs> {
  const defined = Object.fromEntries(Object.entries(inputs).filter(([, v]) => v !== undefined));
  const r = { ...COST_DEFAULTS, ...defined } as Required<CostInputs>;
  check('azs', r.azs, 1, true);
  check('natsPerAz', r.natsPerAz, 1, true);
  // The controller's own bounds: a cost for a period it would refuse is no answer.
  check('heartbeatPeriodSeconds', r.heartbeatPeriodSeconds, HEARTBEAT_PERIOD_RANGE_SECONDS.min, true, HEARTBEAT_PERIOD_RANGE_SECONDS.max);
  check('scheduleMinutes', r.scheduleMinutes, 1, true);
  check('hoursPerMonth', r.hoursPerMonth, 1);
  check('lambdaMemoryMb', r.lambdaMemoryMb, 128, true);
  for (const key of [
    'highResolutionAlarmsPerAz',
    'standardAlarmsPerAz',
    'standardAlarmMetrics',
    'controllerMetrics',
    'queriesPerNatPerReconcile',
    'replacementsPerNatMonth',
    'replacementOverlapHours',
    'extraReconcilesPerReplacement',
    'extraReconcilesPerMonth',
    'billedDashboards',
    'kmsKeyRotations',
    'alarmNotificationsPerMonth',
    'lifecycleRunsPerReplacement',
    'logRetentionDays',
    'lambdaAvgMs',
    'logBytesPerReconcile',
    'instanceHourUsd',
    'instanceVolumeGb',
    'dataGbPerAzMonth',
  ] as const) {
    check(key, r[key], 0);
  }
  return r;
}

/** Monthly cost of natbeat (controller + NAT instances) and of a NAT Gateway, per AZ. */
export function monthlyCost(inputs: CostInputs): CostReport {
  const i = resolveCostInputs(inputs);
  const nats = i.azs * i.natsPerAz;
  const lines: CostLine[] = [];
  const add = (line: Omit<CostLine, 'monthlyUsd'> & { monthlyUsd?: number }) =>
    lines.push({ ...line, monthlyUsd: line.monthlyUsd ?? line.quantity * line.unitPrice });

  // --- controller (everything natbeat adds on top of the NAT instances) ----------------------
  const { scheduled, replacementRuns } = controllerLines(i, add);

  // --- NAT instances -------------------------------------------------------------------------
  add({
    category: 'nat-instance',
    scope: 'per-AZ',
    resourceTypes: ['AWS::AutoScaling::AutoScalingGroup'],
    item: 'NAT instances',
    quantity: nats * i.hoursPerMonth,
    unit: 'instance-hours',
    unitPrice: i.instanceHourUsd,
    source: `EC2 on-demand [3P]: $${i.instanceHourUsd}/h${i.instanceHourUsd === PRICES.t4gNanoHour ? ' (t4g.nano, fck-nat docs)' : ' (given)'}`,
  });
  add({
    category: 'nat-instance',
    scope: 'per-AZ',
    item: 'Public IPv4 address per NAT instance',
    quantity: nats * i.hoursPerMonth,
    unit: 'address-hours',
    unitPrice: PRICES.publicIpv4Hour,
    source: 'VPC pricing [3P]: $0.005 per public IPv4 address-hour',
  });
  add({
    category: 'nat-instance',
    scope: 'per-AZ',
    item: `NAT instance root volume (${i.instanceVolumeGb} GB gp3)`,
    quantity: nats * i.instanceVolumeGb,
    unit: 'GB-months',
    unitPrice: PRICES.gp3GbMonth,
    source: 'EBS pricing [3P, UNCONFIRMED]: gp3 $0.08 per GB-month',
  });

  // --- NAT Gateway, one per AZ ----------------------------------------------------------------
  add({
    category: 'nat-gateway',
    scope: 'per-AZ',
    item: 'NAT Gateway',
    quantity: i.azs * i.hoursPerMonth,
    unit: 'gateway-hours',
    unitPrice: PRICES.natGatewayHour,
    source: 'VPC pricing [3P]: $0.045 per NAT Gateway-hour',
  });
  add({
    category: 'nat-gateway',
    scope: 'per-AZ',
    item: 'Public IPv4 address per NAT Gateway',
    quantity: i.azs * i.hoursPerMonth,
    unit: 'address-hours',
    unitPrice: PRICES.publicIpv4Hour,
    source: 'VPC pricing [3P]: $0.005 per public IPv4 address-hour',
  });
  add({
    category: 'nat-gateway',
    scope: 'per-AZ',
    item: 'NAT Gateway data processing',
    quantity: i.azs * i.dataGbPerAzMonth,
    unit: 'GB',
    unitPrice: PRICES.natGatewayPerGb,
    source: 'VPC pricing [3P]: $0.045 per GB processed',
  });

  const total = (category: CostCategory) =>
    lines.filter((l) => l.category === category).reduce((sum, l) => sum + l.monthlyUsd, 0);
  const controllerMonthUsd = total('controller');
  const controllerPerAzMonthUsd = controllerMonthUsd / i.azs;
  const natInstancePerAzMonthUsd = total('nat-instance') / i.azs;
  const natGatewayPerAzMonthUsd = total('nat-gateway') / i.azs;
  const natbeatPerAzMonthUsd = controllerPerAzMonthUsd + natInstancePerAzMonthUsd;

  return {
    inputs: i,
    lines,
    controllerMonthUsd,
    controllerPerAzMonthUsd,
    natInstancePerAzMonthUsd,
    natbeatPerAzMonthUsd,
    natGatewayPerAzMonthUsd,
    savingsPerAzMonthUsd: natGatewayPerAzMonthUsd - natbeatPerAzMonthUsd,
    assumptions: [
      `us-east-1 list prices; a month is ${i.hoursPerMonth} h; free tiers (Lambda, CloudWatch) ignored.`,
      `${nats} NAT(s): ${i.azs} AZ(s) × ${i.natsPerAz}; each sends 1 PutMetricData every ${i.heartbeatPeriodSeconds} s with a per-instance and a per-zone datum (failure reports are rare and not counted).`,
      `${Math.round(scheduled).toLocaleString('en-US')} scheduled reconcile runs (every ${i.scheduleMinutes} min) + ${round2(replacementRuns)} for replacements (${round2(i.replacementsPerNatMonth)} per NAT × ${i.extraReconcilesPerReplacement}: alarm ALARM/OK and lifecycle events) + ${i.extraReconcilesPerMonth} other; each reads ${i.queriesPerNatPerReconcile} heartbeat metric(s) per NAT.`,
      'Per-instance heartbeat metrics are prorated hourly, so a replacement costs only the overlap hours in which both the old and the new instance publish.',
      `Alarms as the CDK construct creates them: ${i.highResolutionAlarmsPerAz} high-resolution and ${i.standardAlarmsPerAz} standard per AZ, ${i.standardAlarmMetrics} standard alarm metrics fleet-wide (the controller-errors alarm's metric math reads 3 metrics); fleet-wide items are split evenly across AZs.`,
      `Lambda arm64, ${i.lambdaMemoryMb} MB, ${i.lambdaAvgMs} ms average per run (an estimate; measure it with the reconcile benchmark).`,
      `The dashboard: ${i.billedDashboards} billed (an account's first 3 are free); the alarm topic's KMS key with ${i.kmsKeyRotations} rotation(s) billed; ${i.alarmNotificationsPerMonth} alarm notifications a month (SNS, KMS requests, email; mostly inside the free tiers).`,
      'Not counted: internet data transfer out (the same for both), cross-AZ data while a zone fails over ($0.01/GB each way).',
      `A NAT instance processes data at no charge; a NAT Gateway charges $${PRICES.natGatewayPerGb}/GB (${i.dataGbPerAzMonth} GB per AZ-month assumed).`,
      `t4g.nano sustains ~32 Mbps with bursts to 5 Gbps: pick a larger instance (instanceHourUsd) for sustained traffic.`,
    ],
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
