/**
 * Auto Scaling lifecycle hooks (EventBridge, best effort). An event is only a hint that now is a
 * good time to reconcile: the same reconcile as the schedule decides what the launching or leaving
 * NAT gets, so a lost, repeated or reordered event cannot leave a route on a dead NAT.
 *   launch (Pending:Wait): source/dest check off, pinned EIP, routes once it has proved it routes
 *     (a healthy heartbeat), then CONTINUE; ABANDON when no proof comes in time.
 *   terminate (Terminating:Wait): routes handed to the best healthy NAT first, then CONTINUE.
 * A NAT that is still waiting for its first heartbeat is finished by a later reconcile (the
 * schedule, or its zone's heartbeat alarm turning OK).
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ControllerMetric } from '../../common/controller-metrics';
import { ConfigError, errorMessage } from '../core/errors';
import { describeIssues, isTestNotification, lifecycleActionEvent, LAUNCH_DETAIL_TYPE } from '../core/events';
import { reconcile } from '../core/reconcile';
import { actionLog, createRuntime, metricsSink, reportConfigError, type Runtime } from '../core/runtime';
import { LifecycleState } from '../core/types';

/** Auto Scaling states of an instance whose launch hook may still be waiting (or not yet started). */
const LAUNCH_STATES = new Set<string>(['Pending', LifecycleState.PendingWait]);

export interface LifecycleResponse {
  status: 'handled' | 'waiting' | 'ignored' | 'config-error' | 'failed';
  message: string;
}

export function createLifecycleHandler(runtime: Runtime) {
  const { logger, metrics } = runtime;
  const run = async (event: unknown): Promise<LifecycleResponse> => {
    if (runtime.config instanceof ConfigError) return reportConfigError(runtime, runtime.config);
    const config = runtime.config;
    if (isTestNotification(event)) {
      logger.info('Auto Scaling test notification: nothing to do');
      return { status: 'ignored', message: 'test notification' };
    }
    const parsed = lifecycleActionEvent.safeParse(event);
    if (!parsed.success) {
      const message = `not an Auto Scaling lifecycle action: ${describeIssues(parsed.error)}`;
      logger.warn('event ignored', { reason: message });
      return { status: 'ignored', message };
    }
    const { detail } = parsed.data;
    const launching = parsed.data['detail-type'] === LAUNCH_DETAIL_TYPE;
    const instanceId = detail.EC2InstanceId;
    logger.appendKeys({ instanceId, groupName: detail.AutoScalingGroupName, hookName: detail.LifecycleHookName });
    const expectedHook = launching ? config.launchHookName : config.terminateHookName;
    if (detail.LifecycleHookName !== expectedHook) {
      const message = `hook ${detail.LifecycleHookName} is not natbeat's ${launching ? 'launch' : 'terminate'} hook (${expectedHook})`;
      logger.info('event ignored', { reason: message });
      return { status: 'ignored', message };
    }

    try {
      const report = await reconcile({ clients: runtime.clients(), config, log: actionLog(logger), metrics: metricsSink(metrics), now: runtime.now, sleep: runtime.sleep });
      const group = report.snapshot.groups.find((g) => g.name === detail.AutoScalingGroupName);
      if (!group) {
        const message = `group ${detail.AutoScalingGroupName} is not managed by natbeat (or could not be read)`;
        logger.info('event ignored', { reason: message });
        return { status: 'ignored', message };
      }
      const nat = report.plan.nats.find((n) => n.instanceId === instanceId);
      const completion = report.results.find((r) => r.action.kind === 'CompleteLifecycle' && r.action.instanceId === instanceId);
      if (completion) {
        const message = `${completion.action.reason}; ${completion.action.kind === 'CompleteLifecycle' ? completion.action.result : ''} ${completion.status}`;
        logger.info('lifecycle action handled', { result: completion.status, reason: completion.action.reason });
        return { status: completion.status === 'failed' || completion.status === 'skipped' ? 'waiting' : 'handled', message };
      }
      // Only a NAT still launching is waited for; a repeated or late launch event finds it in
      // service, or already leaving, and has nothing left to do.
      const stillLaunching = nat !== undefined && launching && LAUNCH_STATES.has(nat.lifecycleState);
      const message = !nat
        ? `${instanceId} is no longer in ${group.name} (already gone or finished): nothing to do`
        : stillLaunching
          ? `${instanceId} has not proved it routes yet (${nat.reason}); a later reconcile completes its hook`
          : `${instanceId} is ${nat.lifecycleState}: nothing to ${launching ? 'complete' : 'hand over'}`;
      logger.info('lifecycle action pending or finished', { reason: message });
      return { status: stillLaunching ? 'waiting' : 'handled', message };
    } catch (error) {
      logger.error('reconcile failed', { error: errorMessage(error) });
      metrics.addMetric(ControllerMetric.Errors, MetricUnit.Count, 1);
      return { status: 'failed', message: errorMessage(error) };
    }
  };
  return middy(run)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

export const handler = createLifecycleHandler(createRuntime());
