/**
 * The controller's cost lines: everything natbeat adds on top of the NAT instances, each marked
 * per-AZ (it grows with every AZ) or fleet-wide (one per deployment), with the construct's
 * resource types it bills.
 */
import type { CostInputs, CostLine } from './cost-model';
import { PRICES } from './cost-prices';
import { reportPathLines } from './cost-report-path';

type AddLine = (line: Omit<CostLine, 'monthlyUsd' | 'category'> & { category: 'controller'; monthlyUsd?: number }) => void;

export function controllerLines(i: Required<CostInputs>, add: AddLine): { scheduled: number; replacementRuns: number } {
  const nats = i.azs * i.natsPerAz;
  const controller = { category: 'controller' as const };
  const perAz = { ...controller, scope: 'per-AZ' as const };
  const fleet = { ...controller, scope: 'fleet-wide' as const };

  const scheduled = (i.hoursPerMonth * 60) / i.scheduleMinutes;
  const replacementRuns = nats * i.replacementsPerNatMonth * i.extraReconcilesPerReplacement;
  const reconciles = scheduled + replacementRuns + i.extraReconcilesPerMonth;
  const lifecycleRuns = nats * i.replacementsPerNatMonth * i.lifecycleRunsPerReplacement;
  const runs = reconciles + lifecycleRuns;
  reportPathLines(i, reconciles, add);
  // Alarms of your own per zone (the construct creates none since heartbeats left CloudWatch).
  const perZoneAlarms = [
    { name: 'High-resolution', perAzCount: i.highResolutionAlarmsPerAz, price: PRICES.highResolutionAlarmMetricMonth },
    { name: 'Standard', perAzCount: i.standardAlarmsPerAz, price: PRICES.standardAlarmMetricMonth },
  ];
  for (const alarms of perZoneAlarms.filter((a) => a.perAzCount > 0)) {
    add({
      ...perAz,
      resourceTypes: ['AWS::CloudWatch::Alarm'],
      item: `${alarms.name} alarms per zone`,
      quantity: i.azs * alarms.perAzCount,
      unit: 'alarm metric-months',
      unitPrice: alarms.price,
      source: `CloudWatch pricing [3P]: $${alarms.price.toFixed(2)} per ${alarms.name.toLowerCase()} alarm metric`,
    });
  }
  add({
    ...fleet,
    resourceTypes: ['AWS::CloudWatch::Alarm'],
    item: 'Standard alarms (fleet-wide: the paging set)',
    quantity: i.standardAlarmMetrics,
    unit: 'alarm metric-months',
    unitPrice: PRICES.standardAlarmMetricMonth,
    source: 'CloudWatch pricing [3P]: $0.10 per standard alarm metric',
  });
  add({
    ...fleet,
    resourceTypes: ['AWS::CloudWatch::Dashboard'],
    item: `Dashboard (${i.billedDashboards} billed: off by default; an account's first 3 are free)`,
    quantity: i.billedDashboards,
    unit: 'dashboard-months',
    unitPrice: PRICES.dashboardMonth,
    source: 'CloudWatch pricing [3P]: $3 per dashboard-month beyond the first 3 per account',
  });
  add({
    ...fleet,
    item: 'Controller EMF metrics (fleet-wide)',
    quantity: i.controllerMetrics,
    unit: 'metric-months',
    unitPrice: PRICES.customMetricMonth,
    source: 'CloudWatch pricing [3P]: $0.30 per metric-month',
  });
  const logGb = (runs * i.logBytesPerReconcile) / 1e9;
  add({
    ...fleet,
    resourceTypes: ['AWS::Logs::LogGroup'],
    item: 'Controller logs and EMF ingestion',
    quantity: logGb,
    unit: 'GB',
    unitPrice: PRICES.logsIngestionPerGb,
    source: 'CloudWatch Logs pricing [3P]: $0.50 per GB ingested',
  });
  add({
    ...fleet,
    resourceTypes: ['AWS::Logs::LogGroup'],
    item: `Controller log storage (${i.logRetentionDays}-day retention)`,
    quantity: logGb * (i.logRetentionDays / 30),
    unit: 'GB-months',
    unitPrice: PRICES.logsStoragePerGbMonth,
    source: 'CloudWatch Logs pricing [3P]: $0.03 per GB-month stored',
  });
  add({
    ...fleet,
    resourceTypes: ['AWS::Lambda::Function'],
    item: 'Lambda requests (reconcile and lifecycle runs)',
    quantity: runs,
    unit: 'requests',
    unitPrice: PRICES.lambdaPerMillionRequests / 1e6,
    source: 'Lambda pricing [3P]: $0.20 per 1M requests',
  });
  add({
    ...fleet,
    resourceTypes: ['AWS::Lambda::Function'],
    item: `Lambda duration (arm64, ${i.lambdaMemoryMb} MB × ${i.lambdaAvgMs} ms)`,
    quantity: runs * (i.lambdaMemoryMb / 1024) * (i.lambdaAvgMs / 1000),
    unit: 'GB-seconds',
    unitPrice: PRICES.lambdaArmGbSecond,
    source: 'Lambda pricing [3P]: arm64 $0.0000133334 per GB-s',
  });
  add({
    ...fleet,
    resourceTypes: ['AWS::Events::Rule'],
    item: 'EventBridge schedule and AWS service events',
    quantity: scheduled + replacementRuns + lifecycleRuns,
    unit: 'events',
    unitPrice: 0,
    source: 'EventBridge pricing [3P]: AWS service events and rule-based schedules on the default bus are not charged',
  });
  // Only with encryptTopic: CloudWatch alarms can publish to an encrypted topic only through a
  // customer managed key (the AWS managed aws/sns key's policy cannot let CloudWatch use it).
  if (i.encryptTopic) {
    add({
      ...fleet,
      resourceTypes: ['AWS::KMS::Key'],
      item: 'KMS key of the alarm topic',
      quantity: 1,
      unit: 'key-months',
      unitPrice: PRICES.kmsKeyMonth,
      source: 'KMS pricing [AWS]: $1 per customer managed key-month',
    });
    add({
      ...fleet,
      resourceTypes: ['AWS::KMS::Key'],
      item: `KMS key rotations (yearly; ${Math.min(2, i.kmsKeyRotations)} of at most 2 billed)`,
      quantity: Math.min(2, i.kmsKeyRotations),
      unit: 'rotation-months',
      unitPrice: PRICES.kmsRotationMonth,
      source: 'KMS pricing [AWS; 3P cloudburn.io]: the first and second rotation add $1 a month each, later ones are free',
    });
    add({
      ...fleet,
      resourceTypes: ['AWS::KMS::Key'],
      item: 'KMS requests (data keys for alarm notifications)',
      quantity: i.alarmNotificationsPerMonth,
      unit: 'requests',
      unitPrice: PRICES.kmsPer10000Requests / 10_000,
      source: 'KMS pricing [AWS]: $0.03 per 10,000 requests beyond 20,000 free per account',
    });
  }
  add({
    ...fleet,
    resourceTypes: ['AWS::SNS::Topic'],
    item: 'SNS alarm topic: publishes and email notifications',
    quantity: i.alarmNotificationsPerMonth,
    unit: 'notifications',
    unitPrice: PRICES.snsPerMillionPublishes / 1e6 + PRICES.snsEmailPer100000 / 100_000,
    source: 'SNS pricing [3P]: $0.50 per 1M publishes, $2 per 100,000 email notifications (free tiers ignored)',
  });
  return { scheduled, replacementRuns };
}
