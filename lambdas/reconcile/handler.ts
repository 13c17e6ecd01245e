/**
 * The scheduled controller. Invoked by the EventBridge schedule (the backstop, every minute) and
 * by natbeat's CloudWatch alarms changing state (the fast path); both run the same reconcile.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { ControllerMetric } from '../../common/controller-metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ConfigError, errorMessage } from '../core/errors';
import { describeIssues, reconcileTrigger } from '../core/events';
import { reconcile } from '../core/reconcile';
import { actionLog, createRuntime, metricsSink, reportConfigError, type Runtime } from '../core/runtime';

export interface ReconcileResponse {
  status: 'reconciled' | 'ignored' | 'config-error' | 'failed';
  message?: string;
  actions?: { kind: string; status: string; detail?: string }[];
}

export function createReconcileHandler(runtime: Runtime) {
  const { logger, metrics } = runtime;
  const run = async (event: unknown): Promise<ReconcileResponse> => {
    if (runtime.config instanceof ConfigError) return reportConfigError(runtime, runtime.config);
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
      const report = await reconcile({
        clients: runtime.clients(),
        config: runtime.config,
        log: actionLog(logger),
        metrics: metricsSink(metrics),
        now: runtime.now,
      });
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
