/**
 * Metrics the controller emits (EMF, namespace CONTROLLER_NAMESPACE, dimension `service`).
 * The CDK alarms and dashboard read these names, so they live in one place. Every metric but
 * ReconcileRuns is emitted only when it is not zero: a custom metric is billed for the hours it
 * receives data, and the alarms on them treat missing data as not breaching.
 */
export const CONTROLLER_SERVICE = 'natbeat-controller';

/**
 * Namespace of the controller's own metrics. No NAT role may write it (each may write only its
 * deployment's heartbeat namespace), so a NAT cannot fake ReconcileRuns and mute the
 * ReconcileStopped page. It has no `/Heartbeat/`, so no heartbeat namespace can equal it.
 */
export const CONTROLLER_NAMESPACE = 'NatBeat/Controller';

/**
 * The `service` dimension of one deployment's controller metrics: its group's name keeps two
 * natbeat stacks in one account and region from sharing (and muddling) each other's alarms.
 * The Lambdas read it from POWERTOOLS_SERVICE_NAME.
 */
export function controllerServiceName(groupName: string): string {
  return `${CONTROLLER_SERVICE}-${groupName}`;
}

export const ControllerMetric = {
  /** One per completed reconcile run: the dead-man's switch alarms when it stops. */
  ReconcileRuns: 'ReconcileRuns',
  /** NATs past their grace period with no heartbeat in the silence window. */
  SilentNats: 'SilentNats',
  /** NATs whose agent is alive but reports a failed probe (explicit 0). */
  FailingNats: 'FailingNats',
  /** NATs whose beat is overdue and that a healthy peer cannot reach: their tables moved, not marked. */
  UnreachableNats: 'UnreachableNats',
  /** SetInstanceHealth Unhealthy calls made (or planned, in dry run). */
  UnhealthyMarks: 'UnhealthyMarks',
  /** CreateRoute/ReplaceRoute calls made. */
  RouteChanges: 'RouteChanges',
  /** Private route tables not served by a healthy NAT in their own AZ after this run. */
  TablesWithoutSameAzNat: 'TablesWithoutSameAzNat',
  /** Private route tables with no healthy NAT anywhere (left as they are). */
  TablesWithoutAnyNat: 'TablesWithoutAnyNat',
  /**
   * Managed route tables with no subnet association: served by the least-loaded healthy NAT of
   * any AZ and kept out of the two counts above (no subnet loses egress through them). Not paged.
   */
  TablesWithoutSubnet: 'TablesWithoutSubnet',
  /** Managed route tables whose default route leads to something that is not a NAT of this deployment: left alone. */
  ForeignRouteTables: 'ForeignRouteTables',
  /** 1 when the safety valve held back unhealthy marks in this run. */
  SafetyValveTrips: 'SafetyValveTrips',
  /** AWS calls or observations that failed in this run. */
  Errors: 'Errors',
  /** Lifecycle actions completed (CONTINUE or ABANDON). */
  LifecycleCompletions: 'LifecycleCompletions',
} as const;

export type ControllerMetricName = (typeof ControllerMetric)[keyof typeof ControllerMetric];
