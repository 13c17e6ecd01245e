/**
 * Monthly cost model: what natbeat's controller and NAT instances cost per AZ, next to a NAT Gateway
 * per AZ. Shared by `natbeat cost` and the failover benchmark's cost table, so the two cannot disagree.
 *
 * It counts what natbeat really does:
 * - each agent POSTs one signed heartbeat to the intake every heartbeat period: one Lambda
 *   invocation through its Function URL, which appends one item to the report log (DynamoDB, on
 *   demand, TTL): 1 request, its compute, 1 write request unit per beat;
 * - every reconcile run Queries each NAT's recent beats and witness items, strongly consistent;
 * - the CDK construct creates a few standard fleet-wide paging alarms and no per-zone alarm;
 * - the controller emits its own EMF metrics (fleet-wide, shared by every AZ);
 * - the optional dashboard and the optional KMS key of the alarm topic (with its rotations), the
 *   topic, the Lambdas' log groups: every resource type of the synthesized construct has a line or
 *   is listed as free (cost-prices.ts), and each line says whether it grows per AZ or is fleet-wide.
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
  /** Seconds between two heartbeats: one intake request and one report log write each. @default DEFAULT_HEARTBEAT_PERIOD_SECONDS */
  heartbeatPeriodSeconds?: number;
  /** Minutes between scheduled reconcile runs. @default 1 */
  scheduleMinutes?: number;
  /** Hours in the billed month. @default HOURS_PER_MONTH (730) */
  hoursPerMonth?: number;
  /** High-resolution alarm metrics per AZ: the construct creates none (alarms of your own). @default 0 */
  highResolutionAlarmsPerAz?: number;
  /** Standard alarm metrics per AZ: the construct creates none (alarms of your own). @default 0 */
  standardAlarmsPerAz?: number;
  /**
   * Standard alarm metrics, fleet-wide: zone without same-AZ NAT, no NAT anywhere, reconcile
   * stopped (dead-man's switch), safety valve, controller dead letters, intake throttled (1 each)
   * and controller errors, whose metric math reads 3 metrics (billed per metric). @default 9
   */
  standardAlarmMetrics?: number;
  /**
   * Controller EMF metric-months (fleet-wide). Only ReconcileRuns is sent on every run; the other
   * counts are sent while they are not zero, and a metric is billed for the hours it has data.
   * @default 1.5 (ReconcileRuns, plus about half a metric-month of failovers and replacements)
   */
  controllerMetrics?: number;
  /** Report log Queries per NAT in one reconcile run: its beats and its witness items. @default 2 */
  reportQueriesPerNatPerRun?: number;
  /** The controller's silence window, seconds: with the failback beats, how far back it reads. @default 25 */
  silenceSeconds?: number;
  /** Healthy beats in a row before failback (the read covers one more period each). @default 3 */
  failbackHeartbeats?: number;
  /** Bytes of one report log item as DynamoDB sizes it (names and values). GUESS, pessimistic. @default 300 */
  reportItemBytes?: number;
  /**
   * Hours after its TTL until DynamoDB deletes an expired item (AWS: "within a few days"; the
   * item is billed as stored until then). @default 72
   */
  ttlDeletionLagHours?: number;
  /** Bytes on the wire per beat, both ways: the signed request (SigV4 headers, body) and the answer with the peer list, on a kept-alive TLS connection. GUESS, pessimistic. @default 3000 */
  bytesPerBeat?: number;
  /** Intake Lambda memory. @default 256 (the construct's setting) */
  intakeMemoryMb?: number;
  /** Average billed duration of one intake request (cached lookups, one PutItem; cold starts included). GUESS, pessimistic. @default 50 */
  intakeAvgMs?: number;
  /**
   * Log bytes the intake writes per beat. Its log group takes JSON lines with the system log
   * level WARN (no START/END/REPORT platform lines) and the handler logs an accepted beat only at
   * DEBUG, below the application level: nothing per beat, only refusals, failures and wakes. @default 0
   */
  intakeLogBytesPerBeat?: number;
  /**
   * NAT replacements per NAT per month.
   * @default 30 / 14 (the construct's 14-day maximum instance lifetime)
   */
  replacementsPerNatMonth?: number;
  /** Seconds a leaving NAT stays unreachable to its peers, each naming it in every beat (witness items). @default 600 */
  unreachableSecondsPerReplacement?: number;
  /**
   * Extra reconcile runs per replacement, beyond the schedule: the launch and terminate lifecycle
   * events and the peers' witness reports of the leaving NAT. @default 4
   */
  extraReconcilesPerReplacement?: number;
  /**
   * Extra reconcile runs per month for anything else: the agents' failure reports, witness
   * reports of a hiccup. @default 0
   */
  extraReconcilesPerMonth?: number;
  /**
   * Dashboards billed. The construct creates one only with `dashboard: true`; an account's first
   * 3 are free, so even then this is 0 in an account with no other dashboard. @default 0
   */
  billedDashboards?: number;
  /** The construct's `encryptTopic`: the alarm topic is encrypted with a customer managed KMS key of its own. @default false */
  encryptTopic?: boolean;
  /**
   * Rotations of the alarm topic's KMS key so far (yearly, automatic): each of the first two adds
   * $1 a month, later ones nothing. @default 2 (the steady state from the third year on)
   */
  kmsKeyRotations?: number;
  /** Alarm notifications a month (SNS publishes and emails; with encryptTopic a KMS data-key request each). GUESS. @default 100 */
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
  highResolutionAlarmsPerAz: 0,
  standardAlarmsPerAz: 0,
  standardAlarmMetrics: 9,
  controllerMetrics: 1.5,
  reportQueriesPerNatPerRun: 2,
  silenceSeconds: 25,
  failbackHeartbeats: 3,
  reportItemBytes: 300,
  ttlDeletionLagHours: 72,
  bytesPerBeat: 3000,
  intakeMemoryMb: 256,
  intakeAvgMs: 50,
  intakeLogBytesPerBeat: 0,
  replacementsPerNatMonth: 30 / 14,
  unreachableSecondsPerReplacement: 600,
  extraReconcilesPerReplacement: 4,
  extraReconcilesPerMonth: 0,
  billedDashboards: 0,
  encryptTopic: false,
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
  check('intakeMemoryMb', r.intakeMemoryMb, 128, true);
  check('reportItemBytes', r.reportItemBytes, 1, true, 400 * 1024);
  check('failbackHeartbeats', r.failbackHeartbeats, 1, true);
  check('reportQueriesPerNatPerRun', r.reportQueriesPerNatPerRun, 1, true);
  for (const key of [
    'highResolutionAlarmsPerAz',
    'standardAlarmsPerAz',
    'standardAlarmMetrics',
    'controllerMetrics',
    'silenceSeconds',
    'ttlDeletionLagHours',
    'intakeAvgMs',
    'intakeLogBytesPerBeat',
    'bytesPerBeat',
    'replacementsPerNatMonth',
    'unreachableSecondsPerReplacement',
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
      `us-east-1 list prices; a month is ${i.hoursPerMonth} h; free tiers (Lambda, CloudWatch, DynamoDB) ignored.`,
      `${nats} NAT(s): ${i.azs} AZ(s) × ${i.natsPerAz}; each POSTs 1 signed heartbeat to the intake every ${i.heartbeatPeriodSeconds} s: 1 Lambda request of ${i.intakeAvgMs} ms at ${i.intakeMemoryMb} MB (a guess; cold starts included) and 1 report log item of ≤ 1 KB (${i.reportItemBytes} B assumed). Failure reports are rare and not counted.`,
      `${Math.round(scheduled).toLocaleString('en-US')} scheduled reconcile runs (every ${i.scheduleMinutes} min) + ${round2(replacementRuns)} for replacements (${round2(i.replacementsPerNatMonth)} per NAT × ${i.extraReconcilesPerReplacement}: lifecycle events and witness reports) + ${i.extraReconcilesPerMonth} other; each Queries the report log ${i.reportQueriesPerNatPerRun} time(s) per NAT (beats of the last ${i.silenceSeconds + (i.failbackHeartbeats + 1) * i.heartbeatPeriodSeconds} s, witness items), strongly consistent.`,
      `Report log storage is negligible: items expire after 1 h (TTL deletes are free) and are billed until DynamoDB deletes them, assumed ${i.ttlDeletionLagHours} h later. The intake logs ${i.intakeLogBytesPerBeat} bytes per beat (JSON lines, platform lines only at WARN, accepted beats only at DEBUG).`,
      `Alarms as the CDK construct creates them: ${i.standardAlarmMetrics} standard (60 s) alarm metrics fleet-wide (the controller-errors alarm's metric math reads 3 metrics), none per zone${i.highResolutionAlarmsPerAz + i.standardAlarmsPerAz > 0 ? ` (plus ${i.highResolutionAlarmsPerAz} high-resolution and ${i.standardAlarmsPerAz} standard of your own per AZ)` : ''}; fleet-wide items are split evenly across AZs.`,
      `Reconcile: Lambda arm64, ${i.lambdaMemoryMb} MB, ${i.lambdaAvgMs} ms average per run (an estimate; measure it with the reconcile benchmark).`,
      `Dashboard: ${i.billedDashboards} billed (the construct creates one only with dashboard: true; an account's first 3 are free). Alarm topic: ${i.encryptTopic ? `encrypted with its own KMS key, ${i.kmsKeyRotations} rotation(s) billed` : 'not encrypted (encryptTopic: false), no KMS key'}; ${i.alarmNotificationsPerMonth} alarm notifications a month (mostly inside the free tiers).`,
      'Not counted: internet data transfer out (the same for both), cross-AZ data while a zone fails over ($0.01/GB each way).',
      `A NAT instance processes data at no charge; a NAT Gateway charges $${PRICES.natGatewayPerGb}/GB (${i.dataGbPerAzMonth} GB per AZ-month assumed).`,
      `t4g.nano sustains ~32 Mbps with bursts to 5 Gbps: pick a larger instance (instanceHourUsd) for sustained traffic.`,
    ],
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
