/**
 * The controller, and the only writer of routes. Invoked by the EventBridge schedule (the
 * backstop, every minute), by natbeat's zone heartbeat alarms changing state, by the group's
 * lifecycle actions, and by the intake with a NAT's verified report of its own failure or of a peer
 * it cannot reach (both already in the report log when the run starts); all run
 * the same reconcile, one at a time (reserved concurrency 1), so two runs never write the same
 * table from different snapshots and no hook is released while another run routes to its NAT.
 */
import type { Context } from 'aws-lambda';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { ConfigError } from '../core/errors';
import { overdueAfterMs } from '../core/assess';
import type { ControllerConfig } from '../core/config';
import {
  describeIssues,
  isTestNotification,
  reconcileTrigger,
  SELF_REPORT_DETAIL_TYPE,
  WITNESS_REPORT_DETAIL_TYPE,
  type ReconcileTrigger,
} from '../core/events';
import { foreignHook, lifecycleOutcome, type LifecycleOutcome } from '../core/lifecycle-outcome';
import { reconcile, type ReconcileReport } from '../core/reconcile';
import { actionLog, createRuntime, failOnConfigError, failRun, metricsSink, type Runtime } from '../core/runtime';
import { MIN_RUN_INTERVAL_MS, TriggerLimiter } from '../core/trigger-limits';

/** At most this many extra looks per alarm, each waiting for the next overdue NAT. */
const MAX_ALARM_FOLLOW_UPS = 3;
/** At most this many extra looks per witness report, each when a named NAT's beat would be overdue. */
const MAX_WITNESS_FOLLOW_UPS = 2;
/** Looks a little after the moment a beat becomes overdue, so that moment has surely passed. */
const OVERDUE_MARGIN_MS = 500;
/** At most one report-triggered run per this interval: one run covers the whole fleet. */
export const REPORT_MIN_INTERVAL_MS = MIN_RUN_INTERVAL_MS['self-report'];
/** Time kept back for the last run itself before Lambda's timeout. */
const FOLLOW_UP_MARGIN_MS = 15_000;

function remainingMs(context: Partial<Context> | undefined): number {
  return typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 60_000;
}

/**
 * How long to wait before looking again, or undefined to stop. A self-report needs no second look:
 * the intake wrote the NAT's `0` to the report log before it woke this run, so the run saw it. Two
 * triggers can come before what they announce is decidable: an alarm's first empty period before
 * the silence window ends; a witness report before the named NAT's own beat is overdue (until then
 * its last beat overrules the witness).
 */
function nextLookInMs(trigger: ReconcileTrigger, report: ReconcileReport, looks: number, config: ControllerConfig, now: Date): number | undefined {
  if (trigger.source === 'aws.cloudwatch' && trigger.detail.state.value === 'ALARM') {
    const next = report.plan.overdue[0];
    if (!next || looks > MAX_ALARM_FOLLOW_UPS) return undefined;
    return Math.max(0, next.silentAt.getTime() - now.getTime());
  }
  if (trigger.source === 'natbeat.intake' && trigger['detail-type'] === WITNESS_REPORT_DETAIL_TYPE && looks <= MAX_WITNESS_FOLLOW_UPS) {
    const reportedAt = Date.parse(trigger.time);
    const due = trigger.detail.unreachablePeers.flatMap((id) => {
      const nat = report.plan.nats.find((n) => n.instanceId === id);
      // Only a NAT still judged healthy on a beat from before the report can turn unreachable.
      if (nat?.verdict !== 'healthy' || !nat.lastHeartbeatAt || nat.lastHeartbeatAt.getTime() > reportedAt) return [];
      const overdueAt = nat.lastHeartbeatAt.getTime() + overdueAfterMs(config) + OVERDUE_MARGIN_MS;
      return overdueAt > now.getTime() ? [overdueAt] : [];
    });
    return due.length === 0 ? undefined : Math.min(...due) - now.getTime();
  }
  return undefined;
}

export interface ReconcileResponse {
  status: 'reconciled' | 'ignored' | LifecycleOutcome['status'];
  message?: string;
  actions?: { kind: string; status: string; detail?: string }[];
}

export function createReconcileHandler(runtime: Runtime) {
  const { logger, metrics } = runtime;
  const limiter = new TriggerLimiter();
  const run = async (event: unknown, context?: Partial<Context>): Promise<ReconcileResponse> => {
    if (runtime.config instanceof ConfigError) return failOnConfigError(runtime, runtime.config);
    const config = runtime.config;
    if (isTestNotification(event)) {
      logger.info('Auto Scaling test notification: nothing to do');
      return { status: 'ignored', message: 'test notification' };
    }
    const parsed = reconcileTrigger.safeParse(event);
    if (!parsed.success) {
      const message = `not a schedule, alarm, lifecycle action, verified self-report or witness report, or reconcile request: ${describeIssues(parsed.error)}`;
      logger.warn('event ignored', { reason: message });
      return { status: 'ignored', message };
    }
    const trigger = parsed.data;
    logger.appendKeys({
      trigger: trigger['detail-type'],
      ...(trigger.source === 'aws.cloudwatch' ? { alarmName: trigger.detail.alarmName, alarmState: trigger.detail.state.value } : {}),
      ...(trigger.source === 'natbeat.intake' && trigger['detail-type'] === SELF_REPORT_DETAIL_TYPE
        ? { reportedBy: trigger.detail.instanceId, failedProbes: trigger.detail.failedProbes }
        : {}),
      ...(trigger.source === 'natbeat.intake' && trigger['detail-type'] === WITNESS_REPORT_DETAIL_TYPE
        ? { witness: trigger.detail.witnessId, unreachablePeers: trigger.detail.unreachablePeers }
        : {}),
      ...(trigger.source === 'aws.autoscaling'
        ? { instanceId: trigger.detail.EC2InstanceId, groupName: trigger.detail.AutoScalingGroupName, hookName: trigger.detail.LifecycleHookName }
        : {}),
    });
    const notOurs = trigger.source === 'aws.autoscaling' ? foreignHook(trigger, config) : undefined;
    const skipped = notOurs ?? limiter.admit(trigger, runtime.now().getTime());
    if (skipped) {
      logger.info('event ignored', { reason: skipped });
      return { status: 'ignored', message: skipped };
    }
    try {
      const runOnce = () => {
        limiter.observed(runtime.now().getTime());
        return reconcile({ clients: runtime.clients(), config, log: actionLog(logger), metrics: metricsSink(metrics), now: runtime.now, sleep: runtime.sleep });
      };
      let report = await runOnce();
      for (let looks = 1; ; looks++) {
        const waitMs = nextLookInMs(trigger, report, looks, config, runtime.now());
        if (waitMs === undefined || waitMs + FOLLOW_UP_MARGIN_MS > remainingMs(context)) break;
        logger.info('looking again shortly', { waitMs, looks });
        await runtime.sleep(waitMs);
        report = await runOnce();
      }
      const actions = report.results.map((r) => ({ kind: r.action.kind, status: r.status, detail: r.detail }));
      if (trigger.source === 'aws.autoscaling') {
        const outcome = lifecycleOutcome(trigger, report);
        logger.info(`lifecycle action ${outcome.status}`, { reason: outcome.message });
        return { ...outcome, actions };
      }
      return { status: 'reconciled', actions };
    } catch (error) {
      // Nothing was decided: fail the invocation (Errors metric, dead-letter queue); the next
      // trigger runs a fresh reconcile.
      return failRun(runtime, 'reconcile failed', error, { context: (error as { context?: unknown }).context });
    }
  };
  return middy(run)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

export const handler = createReconcileHandler(createRuntime());
