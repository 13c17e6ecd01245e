/**
 * What pages operators and what the fast path listens to: the alarms (fleet-wide and per zone)
 * and the dashboard of one NatBeat deployment.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ControllerMetric, controllerServiceName } from '../../common/controller-metrics';
import { DIMENSION_GROUP, DIMENSION_ZONE, HEARTBEAT_METRIC, HEARTBEAT_NAMESPACE } from '../../common/heartbeat';
import { alarmPeriodFor, type Settings } from './settings';

/** The parts of a NatBeat deployment its alarms and dashboard are about. */
export interface MonitoringTarget {
  /** The NatBeat construct: alarms and the dashboard are created in it. */
  scope: Construct;
  groupName: string;
  availabilityZones: string[];
  alarmTopic: sns.ITopic;
  reconcileFunction: lambda.IFunction;
  intakeFunction: lambda.IFunction;
}

export interface NatBeatAlarms {
  readonly zoneWithoutSameAzNat: cloudwatch.Alarm;
  readonly noNatAnywhere: cloudwatch.Alarm;
  readonly controllerErrors: cloudwatch.Alarm;
  readonly reconcileStopped: cloudwatch.Alarm;
  readonly safetyValve: cloudwatch.Alarm;
  /**
   * Per AZ, in the order of `availabilityZones`: the high-resolution trigger. ALARM on an explicit
   * failure (heartbeat 0) or one empty period; its state changes invoke reconcile. Never pages.
   */
  readonly zoneHeartbeat: cloudwatch.Alarm[];
  /**
   * Per AZ, in the same order: the standard-resolution page. No healthy heartbeat from the zone
   * for two minutes (or longer than the silence window). Does not invoke reconcile.
   */
  readonly zoneSilent: cloudwatch.Alarm[];
}

/** `<group>-<alarm>`: every natbeat alarm name. */
export function alarmName(groupName: string, suffix: string): string {
  return `${groupName}-${suffix}`;
}

function controllerMetric(t: MonitoringTarget, name: string, statistic: string, period = Duration.minutes(1)): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: HEARTBEAT_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: controllerServiceName(t.groupName) },
    statistic,
    period,
  });
}

function heartbeatMetric(t: MonitoringTarget, zone: string, statistic: string, periodSeconds: number): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: HEARTBEAT_NAMESPACE,
    metricName: HEARTBEAT_METRIC,
    dimensionsMap: { [DIMENSION_GROUP]: t.groupName, [DIMENSION_ZONE]: zone },
    statistic,
    period: Duration.seconds(periodSeconds),
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
      intake: t.intakeFunction.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
    },
    period: Duration.minutes(1),
  });
  const controllerErrors = page(
    new cloudwatch.Alarm(t.scope, 'ControllerErrorsAlarm', {
      alarmName: name('ControllerErrors'),
      alarmDescription: 'The controller failed AWS calls or crashed in 3 of the last 5 minutes. Read the reconcile and intake logs.',
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
      alarmDescription: `More than ${s.maxUnhealthyShare * 100}% of the NATs went silent or failing at once: the controller suspects the metric pipeline and replaces nothing. Check the heartbeats by hand.`,
      metric: controllerMetric(t, ControllerMetric.SafetyValveTrips, 'Maximum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );

  // Per AZ, high resolution: the trigger. It fires after one empty period or one explicit 0, well
  // before the silence window ends; the reconcile it starts waits for that window itself. It
  // does not page: a single late heartbeat would be noise. One alarm: $0.30 a month per AZ.
  const triggerPeriod = alarmPeriodFor(s.heartbeatSeconds);
  // Per AZ, standard resolution (60 s periods, $0.10): the page. Two periods at least, and a
  // full period beyond the silence window, so natbeat has had its chance to move the routes.
  const pagePeriod = Math.max(60, alarmPeriodFor(s.heartbeatSeconds));
  const pagePeriods = Math.max(2, Math.ceil(s.silenceSeconds / pagePeriod) + 1);
  const pageMinutes = (pagePeriods * pagePeriod) / 60;
  const zoneHeartbeat: cloudwatch.Alarm[] = [];
  const zoneSilent: cloudwatch.Alarm[] = [];
  t.availabilityZones.forEach((zone, i) => {
    zoneHeartbeat.push(
      new cloudwatch.Alarm(t.scope, `ZoneHeartbeatAlarm${i}`, {
        alarmName: name(`ZoneHeartbeat-${zone}`),
        alarmDescription: `Trigger only, does not page: a NAT in ${zone} reported a routing failure (heartbeat 0) or sent no heartbeat in the last ${triggerPeriod} s. Each state change invokes natbeat's reconcile.`,
        metric: heartbeatMetric(t, zone, 'Minimum', triggerPeriod),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );
    zoneSilent.push(
      page(
        new cloudwatch.Alarm(t.scope, `ZoneSilentAlarm${i}`, {
          alarmName: name(`ZoneSilent-${zone}`),
          alarmDescription: `No healthy heartbeat from ${zone} for ${pageMinutes} minutes: its NAT is broken or being replaced; natbeat has already moved its routes; act if it persists (see docs/operations.md).`,
          metric: heartbeatMetric(t, zone, 'Maximum', pagePeriod),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: pagePeriods,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      ),
    );
  });
  return { zoneWithoutSameAzNat, noNatAnywhere, controllerErrors, reconcileStopped, safetyValve, zoneHeartbeat, zoneSilent };
}

export function createDashboard(t: MonitoringTarget, alarms: NatBeatAlarms, s: Settings): cloudwatch.Dashboard {
  const period = alarmPeriodFor(s.heartbeatSeconds);
  const a = alarms;
  const dashboard = new cloudwatch.Dashboard(t.scope, 'Dashboard', {
    defaultInterval: Duration.hours(3),
  });
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'natbeat alarms',
      width: 24,
      alarms: [a.noNatAnywhere, a.zoneWithoutSameAzNat, a.reconcileStopped, a.controllerErrors, a.safetyValve, ...a.zoneSilent],
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Zone heartbeat triggers (invoke reconcile, do not page)',
      width: 24,
      alarms: a.zoneHeartbeat,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      // The trigger alarm's view: a 0 or a gap is what invokes reconcile.
      title: 'Routing heartbeat per zone (min; 1 = healthy, 0 or gap = trigger)',
      width: 12,
      left: t.availabilityZones.map((z) => heartbeatMetric(t, z, 'Minimum', period).with({ label: z })),
      leftYAxis: { min: 0, max: 1.2 },
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
      // Schedule (1/min) + alarm triggers + the NATs' failure hints: a NAT flooding hints shows here.
      right: [
        t.reconcileFunction.metricInvocations({ label: 'reconcile invocations', statistic: 'Sum' }),
        t.reconcileFunction.metricThrottles({ label: 'reconcile throttles', statistic: 'Sum' }),
      ],
    }),
  );
  return dashboard;
}
