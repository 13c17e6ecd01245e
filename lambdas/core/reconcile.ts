/**
 * One reconcile: observe → decide → act. Every trigger (schedule, alarm, lifecycle event, the
 * CLI's plan) runs this same function, so a lost or repeated event changes nothing about where
 * routes end up.
 */
import { ControllerMetric, type ControllerMetricName } from '../../common/controller-metrics';
import { act, type ActionResult } from './act';
import type { AwsClients } from './clients';
import type { ControllerConfig } from './config';
import { decide } from './decide';
import type { ActionLog } from './log';
import { observe } from './observe';
import type { Plan, Snapshot } from './types';

export interface MetricsSink {
  add(name: ControllerMetricName, value: number): void;
}

export interface ReconcileDeps {
  clients: AwsClients;
  config: ControllerConfig;
  log: ActionLog;
  metrics?: MetricsSink;
  /** The clock, read once per run. */
  now?: () => Date;
  /** Waits (the handover lead time between tagging a NAT and moving routes to it). */
  sleep?: (ms: number) => Promise<void>;
}

export interface ReconcileReport {
  snapshot: Snapshot;
  plan: Plan;
  results: ActionResult[];
  counts: Record<ControllerMetricName, number>;
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const now = (deps.now ?? (() => new Date()))();
  const snapshot = await observe(deps.clients, deps.config, now);
  const plan = decide(snapshot, deps.config, now);
  for (const failure of snapshot.failures) deps.log.error('observation failed', { scope: failure.scope, error: failure.message });
  for (const nat of plan.nats) {
    if (nat.verdict !== 'healthy') {
      deps.log.info(`NAT ${nat.verdict}`, {
        instanceId: nat.instanceId,
        groupName: nat.groupName,
        availabilityZone: nat.availabilityZone,
        reason: nat.reason,
      });
    }
  }
  for (const alert of plan.alerts) deps.log.warn(alert.message, { alert: alert.kind, resourceIds: alert.resourceIds });

  const results = await act(deps.clients, plan.actions, {
    dryRun: deps.config.dryRun,
    log: deps.log,
    handoverLeadMs: deps.config.handoverLeadSeconds * 1000,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  const counts = countOutcome(snapshot, plan, results);
  if (deps.metrics) {
    for (const [name, value] of Object.entries(counts)) {
      // Zeros are not sent: a custom metric costs for the hours it has data (see controller-metrics).
      if (value > 0 || name === ControllerMetric.ReconcileRuns) deps.metrics.add(name as ControllerMetricName, value);
    }
  }
  deps.log.info('reconcile finished', {
    groups: snapshot.groups.length,
    nats: plan.nats.length,
    routeTables: plan.routes.length,
    actions: results.length,
    failedActions: results.filter((r) => r.status === 'failed').length,
    dryRun: deps.config.dryRun,
  });
  return { snapshot, plan, results, counts };
}

function countOutcome(snapshot: Snapshot, plan: Plan, results: ActionResult[]): Record<ControllerMetricName, number> {
  const applied = (kind: string) => results.filter((r) => r.action.kind === kind && (r.status === 'done' || r.status === 'dry-run')).length;
  // A table no subnet uses cannot cost a zone its egress: it never counts towards a page.
  const subnetless = new Set(snapshot.routeTables.filter((t) => t.availabilityZones.length === 0).map((t) => t.routeTableId));
  const zoned = plan.routes.filter((r) => !subnetless.has(r.routeTableId));
  return {
    [ControllerMetric.ReconcileRuns]: 1,
    [ControllerMetric.SilentNats]: plan.nats.filter((n) => n.verdict === 'silent').length,
    [ControllerMetric.FailingNats]: plan.nats.filter((n) => n.verdict === 'failing').length,
    [ControllerMetric.UnreachableNats]: plan.nats.filter((n) => n.verdict === 'unreachable').length,
    [ControllerMetric.UnhealthyMarks]: applied('SetUnhealthy'),
    [ControllerMetric.RouteChanges]: applied('SetRoute'),
    [ControllerMetric.TablesWithoutSameAzNat]: zoned.filter((r) => r.serving === 'cross-az' || r.serving === 'none').length,
    [ControllerMetric.TablesWithoutAnyNat]: zoned.filter((r) => r.serving === 'none').length,
    [ControllerMetric.TablesWithoutSubnet]: subnetless.size,
    [ControllerMetric.ForeignRouteTables]: plan.routes.filter((r) => r.serving === 'foreign').length,
    [ControllerMetric.SafetyValveTrips]: plan.valveTripped ? 1 : 0,
    [ControllerMetric.Errors]: snapshot.failures.length + results.filter((r) => r.status === 'failed').length,
    [ControllerMetric.LifecycleCompletions]: applied('CompleteLifecycle'),
  } as Record<ControllerMetricName, number>;
}
