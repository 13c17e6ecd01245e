/**
 * The scheduled controller. Invoked by the EventBridge schedule (the backstop, every minute), by
 * natbeat's zone heartbeat alarms changing state and by a NAT's agent reporting its own failure
 * (the two fast paths); all run the same reconcile.
 */
import type { Context } from 'aws-lambda';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { ControllerMetric } from '../../common/controller-metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConfigError, errorMessage } from '../core/errors';
import { describeIssues, reconcileTrigger, type ReconcileTrigger } from '../core/events';
import { reconcile, type ReconcileReport } from '../core/reconcile';
import { actionLog, createRuntime, metricsSink, reportConfigError, type Runtime } from '../core/runtime';

/** At most this many extra looks per alarm, each waiting for the next overdue NAT. */
const MAX_ALARM_FOLLOW_UPS = 3;
/** After an agent's report: look again this often until CloudWatch shows the failure… */
const REPORT_POLL_MS = 2_000;
/** …but no longer than this (the report may be stale, or the NAT already recovered). */
const REPORT_WAIT_MS = 20_000;
/**
 * At most one report-triggered run per this interval: one run covers the whole fleet, and a NAT
 * that floods the function with reports (its role may invoke it) cannot buy more than this.
 */
export const REPORT_MIN_INTERVAL_MS = 10_000;
/** Time kept back for the last run itself before Lambda's timeout. */
const FOLLOW_UP_MARGIN_MS = 15_000;

function remainingMs(context: Partial<Context> | undefined): number {
  return typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 60_000;
}

/**
 * How long to wait before looking again, or undefined to stop. Both fast paths can fire before
 * CloudWatch shows what they announce: an alarm's first empty period comes before the silence
 * window ends; an agent's report comes before its explicit 0 is visible in GetMetricData.
 */
function nextLookInMs(trigger: ReconcileTrigger, report: ReconcileReport, looks: number, elapsedMs: number, now: Date): number | undefined {
  if (trigger.source === 'aws.cloudwatch' && trigger.detail.state.value === 'ALARM') {
    const next = report.plan.overdue[0];
    if (!next || looks > MAX_ALARM_FOLLOW_UPS) return undefined;
    return Math.max(0, next.silentAt.getTime() - now.getTime());
  }
  if (trigger.source === 'natbeat.agent') {
    const reported = report.plan.nats.find((n) => n.instanceId === trigger.detail.instanceId);
    // Seen failing (or gone) — acted on; or not ours at all: nothing more to wait for.
    if (!reported || reported.verdict !== 'healthy' || elapsedMs + REPORT_POLL_MS > REPORT_WAIT_MS) return undefined;
    return REPORT_POLL_MS;
  }
  return undefined;
}

export interface ReconcileResponse {
  status: 'reconciled' | 'ignored' | 'config-error' | 'failed';
  message?: string;
  actions?: { kind: string; status: string; detail?: string }[];
}

export function createReconcileHandler(runtime: Runtime) {
  const { logger, metrics } = runtime;
  let lastReportRunAt = Number.NEGATIVE_INFINITY;
  const run = async (event: unknown, context?: Partial<Context>): Promise<ReconcileResponse> => {
    if (runtime.config instanceof ConfigError) return reportConfigError(runtime, runtime.config);
    const config = runtime.config;
    const parsed = reconcileTrigger.safeParse(event);
    if (!parsed.success) {
      const message = `not a schedule, alarm or reconcile request: ${describeIssues(parsed.error)}`;
      logger.warn('event ignored', { reason: message });
      return { status: 'ignored', message };
    }
    const trigger = parsed.data;
    logger.appendKeys({
      trigger: trigger['detail-type'],
      ...(trigger.source === 'aws.cloudwatch' ? { alarmName: trigger.detail.alarmName, alarmState: trigger.detail.state.value } : {}),
      ...(trigger.source === 'natbeat.agent' ? { reportedBy: trigger.detail.instanceId, failedProbes: trigger.detail.failedProbes } : {}),
    });
    if (trigger.source === 'natbeat.agent') {
      const sinceLastMs = runtime.now().getTime() - lastReportRunAt;
      if (sinceLastMs < REPORT_MIN_INTERVAL_MS) {
        const message = `a report was acted on ${Math.round(sinceLastMs / 1000)} s ago; this one adds nothing`;
        logger.info('report ignored', { reason: message });
        return { status: 'ignored', message };
      }
      lastReportRunAt = runtime.now().getTime();
    }
    try {
      const runOnce = () =>
        reconcile({ clients: runtime.clients(), config, log: actionLog(logger), metrics: metricsSink(metrics), now: runtime.now, sleep: runtime.sleep });
      const startedAt = runtime.now().getTime();
      let report = await runOnce();
      for (let looks = 1; ; looks++) {
        const waitMs = nextLookInMs(trigger, report, looks, runtime.now().getTime() - startedAt, runtime.now());
        if (waitMs === undefined || waitMs + FOLLOW_UP_MARGIN_MS > remainingMs(context)) break;
        logger.info('looking again shortly', { waitMs, looks });
        await runtime.sleep(waitMs);
        report = await runOnce();
      }
      return {
        status: 'reconciled',
        actions: report.results.map((r) => ({ kind: r.action.kind, status: r.status, detail: r.detail })),
      };
    } catch (error) {
      // Nothing was decided: report it and let the next trigger try again.
      logger.error('reconcile failed', { error: errorMessage(error), context: (error as { context?: unknown }).context });
      metrics.addMetric(ControllerMetric.Errors, MetricUnit.Count, 1);
      return { status: 'failed', message: errorMessage(error) };
    }
  };
  return middy(run)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

export const handler = createReconcileHandler(createRuntime());
