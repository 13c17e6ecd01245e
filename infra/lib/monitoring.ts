/**
 * What pages operators: the alarms of one NatBeat deployment, all fleet-wide, standard resolution
 * and on what the controller and the Lambdas measure themselves (heartbeats are in the report log,
 * not in CloudWatch), and the optional dashboard.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CONTROLLER_NAMESPACE, ControllerMetric, controllerServiceName } from '../../common/controller-metrics';
import type { Settings } from './settings';

/** The parts of a NatBeat deployment its alarms and dashboard are about. */
export interface MonitoringTarget {
  /** The NatBeat construct: alarms and the dashboard are created in it. */
  scope: Construct;
  groupName: string;
  availabilityZones: string[];
  alarmTopic: sns.ITopic;
  reconcileFunction: lambda.IFunction;
  intakeFunction: lambda.IFunction;
  /** The controller's dead-letter queue: trigger events no run handled. */
  deadLetterQueue: sqs.IQueue;
}

export interface NatBeatAlarms {
  readonly zoneWithoutSameAzNat: cloudwatch.Alarm;
  readonly noNatAnywhere: cloudwatch.Alarm;
  readonly controllerErrors: cloudwatch.Alarm;
  readonly reconcileStopped: cloudwatch.Alarm;
  readonly safetyValve: cloudwatch.Alarm;
  /** A trigger event no controller run handled (failed, expired or undeliverable). */
  readonly deadLetters: cloudwatch.Alarm;
  /** The intake turned heartbeats away for want of concurrency (Lambda throttles). */
  readonly intakeThrottled: cloudwatch.Alarm;
}

/** `<group>-<alarm>`: every natbeat alarm name. */
export function alarmName(groupName: string, suffix: string): string {
  return `${groupName}-${suffix}`;
}

/** Suffixes of the alarms that page (notify the topic): every alarm natbeat creates. */
const PAGING_ALARMS = [
  'ZoneWithoutSameAzNat',
  'NoNatAnywhere',
  'ControllerErrors',
  'ReconcileStopped',
  'SafetyValveTripped',
  'ControllerDeadLetters',
  'IntakeThrottled',
] as const;

/**
 * The exact names of every alarm of one deployment that notifies its topic. The topic's policy
 * lists these and no pattern: `<group>-*` would also match the alarms of a group named
 * `<group>-b`.
 */
export function pagingAlarmNames(groupName: string): string[] {
  return PAGING_ALARMS.map((suffix) => alarmName(groupName, suffix));
}

function controllerMetric(t: MonitoringTarget, name: string, statistic: string, period = Duration.minutes(1)): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: CONTROLLER_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: controllerServiceName(t.groupName) },
    statistic,
    period,
  });
}

export function createAlarms(t: MonitoringTarget, s: Settings): NatBeatAlarms {
  const action = new cwActions.SnsAction(t.alarmTopic);
  const page = (alarm: cloudwatch.Alarm): cloudwatch.Alarm => {
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return alarm;
  };
  const name = (suffix: string) => alarmName(t.groupName, suffix);

  const zoneWithoutSameAzNat = page(
    new cloudwatch.Alarm(t.scope, 'ZoneWithoutSameAzNatAlarm', {
      alarmName: name('ZoneWithoutSameAzNat'),
      alarmDescription: `Private route tables have had no healthy NAT in their own AZ for ${s.zoneWithoutNatMinutes} min (they route cross-AZ or not at all). Check the NAT group's activity and the controller logs.`,
      metric: controllerMetric(t, ControllerMetric.TablesWithoutSameAzNat, 'Maximum'),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: s.zoneWithoutNatMinutes,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );
  const noNatAnywhere = page(
    new cloudwatch.Alarm(t.scope, 'NoNatAnywhereAlarm', {
      alarmName: name('NoNatAnywhere'),
      alarmDescription: 'Private route tables have no healthy NAT in any AZ: private subnets have no internet egress.',
      metric: controllerMetric(t, ControllerMetric.TablesWithoutAnyNat, 'Maximum'),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );
  const errors = new cloudwatch.MathExpression({
    label: 'Controller errors',
    expression: 'FILL(controller, 0) + FILL(reconcile, 0) + FILL(intake, 0)',
    usingMetrics: {
      controller: controllerMetric(t, ControllerMetric.Errors, 'Sum'),
      reconcile: t.reconcileFunction.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      // The intake's 5xx answers: its crashes and timeouts (Lambda answers 502) and the 500/503 it
      // answers itself when it cannot check a caller or write the report log, which Errors misses.
      intake: intakeUrlMetric(t, 'Url5xxCount'),
    },
    period: Duration.minutes(1),
  });
  const controllerErrors = page(
    new cloudwatch.Alarm(t.scope, 'ControllerErrorsAlarm', {
      alarmName: name('ControllerErrors'),
      alarmDescription: 'The controller failed AWS calls or crashed, or the intake answered heartbeats with 5xx, in 3 of the last 5 minutes. Read the reconcile and intake logs.',
      metric: errors,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );
  const reconcileStopped = page(
    new cloudwatch.Alarm(t.scope, 'ReconcileStoppedAlarm', {
      alarmName: name('ReconcileStopped'),
      alarmDescription: `Dead-man's switch: no completed reconcile run for ${s.reconcileStoppedMinutes} min. Nothing repairs NAT failures until it runs again.`,
      metric: controllerMetric(t, ControllerMetric.ReconcileRuns, 'Sum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: s.reconcileStoppedMinutes,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }),
  );
  const safetyValve = page(
    new cloudwatch.Alarm(t.scope, 'SafetyValveAlarm', {
      alarmName: name('SafetyValveTripped'),
      alarmDescription: `More than ${s.maxUnhealthyShare * 100}% of the NATs went silent or failing at once: the controller suspects the report path (intake, report log) and replaces nothing. Check the intake's logs and the NATs by hand.`,
      metric: controllerMetric(t, ControllerMetric.SafetyValveTrips, 'Maximum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );

  const deadLetters = page(
    new cloudwatch.Alarm(t.scope, 'ControllerDeadLettersAlarm', {
      alarmName: name('ControllerDeadLetters'),
      alarmDescription: "A schedule, alarm or lifecycle event was not handled: its run failed, expired in the queue, or could not be delivered. The message in the controller's dead-letter queue says which; read the logs of that time, then purge the queue.",
      metric: t.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );

  // Throttled heartbeats are lost (the agent sends the next one a period later): a NAT whose beats
  // keep being turned away looks silent, its tables move and it is replaced. A fleet that beats
  // normally never throttles (reserved concurrency is sized for it), so a throttle in 3 of 5
  // minutes means a NAT floods the intake or the fleet outgrew it. Whole-path failures page
  // without it: every NAT silent trips the safety valve, and 5xx answers count as errors.
  const intakeThrottled = page(
    new cloudwatch.Alarm(t.scope, 'IntakeThrottledAlarm', {
      alarmName: name('IntakeThrottled'),
      alarmDescription:
        "The intake turned heartbeats away for want of concurrency in 3 of the last 5 minutes: lost beats make healthy NATs look silent. Find the caller in the intake's logs (a NAT sending far more than one body per heartbeat period is suspect); if every NAT keeps to its period, the intake's reserved concurrency is too small for the fleet.",
      metric: t.intakeFunction.metricThrottles({ period: Duration.minutes(1), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );
  return { zoneWithoutSameAzNat, noNatAnywhere, controllerErrors, reconcileStopped, safetyValve, deadLetters, intakeThrottled };
}

/** A metric of the intake's Function URL (AWS/Lambda, per function). */
function intakeUrlMetric(t: MonitoringTarget, metricName: 'UrlRequestCount' | 'Url4xxCount' | 'Url5xxCount', statistic = 'Sum'): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Lambda',
    metricName,
    dimensionsMap: { FunctionName: t.intakeFunction.functionName },
    statistic,
    period: Duration.minutes(1),
  });
}

export function createDashboard(t: MonitoringTarget, alarms: NatBeatAlarms): cloudwatch.Dashboard {
  const a = alarms;
  const dashboard = new cloudwatch.Dashboard(t.scope, 'Dashboard', {
    defaultInterval: Duration.hours(3),
  });
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'natbeat alarms',
      width: 24,
      alarms: [a.noNatAnywhere, a.zoneWithoutSameAzNat, a.reconcileStopped, a.controllerErrors, a.deadLetters, a.safetyValve, a.intakeThrottled],
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      // The report path: one request per NAT per heartbeat period when all is well.
      title: 'Intake: heartbeats received, refused (4xx), failed (5xx), throttled',
      width: 12,
      left: [
        intakeUrlMetric(t, 'UrlRequestCount').with({ label: 'requests' }),
        intakeUrlMetric(t, 'Url4xxCount').with({ label: '4xx (refused, rate-limited)' }),
        intakeUrlMetric(t, 'Url5xxCount').with({ label: '5xx (failed)' }),
        t.intakeFunction.metricThrottles({ label: 'throttles', statistic: 'Sum' }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Route tables without a NAT',
      width: 12,
      left: [
        controllerMetric(t, ControllerMetric.TablesWithoutSameAzNat, 'Maximum').with({ label: 'without same-AZ NAT' }),
        controllerMetric(t, ControllerMetric.TablesWithoutAnyNat, 'Maximum').with({ label: 'without any NAT' }),
        // Not paged: a table no subnet uses, and a route natbeat leaves to its owner.
        controllerMetric(t, ControllerMetric.TablesWithoutSubnet, 'Maximum').with({ label: 'without a subnet (any AZ serves it)' }),
        controllerMetric(t, ControllerMetric.ForeignRouteTables, 'Maximum').with({ label: 'route not natbeat’s (left alone)' }),
      ],
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Controller actions',
      width: 12,
      left: [
        ControllerMetric.RouteChanges,
        ControllerMetric.UnhealthyMarks,
        ControllerMetric.LifecycleCompletions,
        ControllerMetric.SafetyValveTrips,
      ].map((m) => controllerMetric(t, m, 'Sum').with({ label: m })),
    }),
    new cloudwatch.GraphWidget({
      title: 'NAT health and controller runs',
      width: 12,
      left: [ControllerMetric.SilentNats, ControllerMetric.FailingNats].map((m) => controllerMetric(t, m, 'Maximum').with({ label: m })),
      right: [ControllerMetric.ReconcileRuns, ControllerMetric.Errors].map((m) => controllerMetric(t, m, 'Sum').with({ label: m })),
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Lambda duration (p99), reconcile invocations and throttles',
      width: 24,
      left: [t.reconcileFunction, t.intakeFunction].map((f, i) =>
        f.metricDuration({ statistic: 'p99', label: i === 0 ? 'reconcile p99' : 'intake p99' }),
      ),
      // Schedule (1/min), lifecycle events and the intake's wake-ups: a NAT flooding reports shows here.
      right: [
        t.reconcileFunction.metricInvocations({ label: 'reconcile invocations', statistic: 'Sum' }),
        t.reconcileFunction.metricThrottles({ label: 'reconcile throttles', statistic: 'Sum' }),
      ],
    }),
  );
  return dashboard;
}
