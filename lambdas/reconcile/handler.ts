/**
 * The scheduled controller. Invoked by the EventBridge schedule (the backstop, every minute) and
 * by natbeat's CloudWatch alarms changing state (the fast path); both run the same reconcile.
 */
import type { Context } from 'aws-lambda';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { ControllerMetric } from '../../common/controller-metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConfigError, errorMessage } from '../core/errors';
import { describeIssues, reconcileTrigger } from '../core/events';
import { reconcile } from '../core/reconcile';
import { actionLog, createRuntime, metricsSink, reportConfigError, type Runtime } from '../core/runtime';

/** At most this many extra looks per alarm, each waiting for the next overdue NAT. */
const MAX_FOLLOW_UPS = 3;
/** Time kept back for the last run itself before Lambda's timeout. */
const FOLLOW_UP_MARGIN_MS = 15_000;

function remainingMs(context: Partial<Context> | undefined): number {
  return typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 60_000;
}

export interface ReconcileResponse {
  status: 'reconciled' | 'ignored' | 'config-error' | 'failed';
  message?: string;
  actions?: { kind: string; status: string; detail?: string }[];
}

export function createReconcileHandler(runtime: Runtime) {
  const { logger, metrics } = runtime;
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
      ...('detail' in trigger ? { alarmName: trigger.detail.alarmName, alarmState: trigger.detail.state.value } : {}),
    });
    try {
      const runOnce = () =>
        reconcile({ clients: runtime.clients(), config, log: actionLog(logger), metrics: metricsSink(metrics), now: runtime.now });
      let report = await runOnce();
      // A heartbeat alarm fires before a dead NAT's silence window is over: wait for it and look
      // again, instead of leaving the zone to the next scheduled run.
      const alarmed = 'detail' in trigger && trigger.detail.state.value === 'ALARM';
      for (let followUp = 0; alarmed && followUp < MAX_FOLLOW_UPS; followUp++) {
        const next = report.plan.overdue[0];
        if (!next) break;
        const waitMs = Math.max(0, next.silentAt.getTime() - runtime.now().getTime());
        if (waitMs + FOLLOW_UP_MARGIN_MS > remainingMs(context)) break;
        logger.info('waiting for an overdue heartbeat', { instanceId: next.instanceId, waitMs });
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
