import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { CONTROLLER_NAMESPACE, ControllerMetric } from '../../common/controller-metrics';
import { DEFAULT_HEARTBEAT_NAMESPACE, heartbeatNamespace } from '../../common/heartbeat';
import { ENV } from '../../lambdas/core/config';
import { createRuntime } from '../../lambdas/core/runtime';

describe('Function: createRuntime', () => {
  it("emits the controller's metrics in the controller namespace, never in the heartbeat namespace the NATs may write", () => {
    const runtime = createRuntime({
      env: { [ENV.namespace]: heartbeatNamespace('nat-a'), POWERTOOLS_SERVICE_NAME: 'natbeat-controller-nat-a' },
    });
    runtime.metrics.addMetric(ControllerMetric.ReconcileRuns, MetricUnit.Count, 1);
    const emf = runtime.metrics.serializeMetrics();
    expect(emf._aws.CloudWatchMetrics.map((m) => m.Namespace)).toEqual([CONTROLLER_NAMESPACE]);
    expect(CONTROLLER_NAMESPACE).not.toBe(heartbeatNamespace('nat-a'));
    expect(CONTROLLER_NAMESPACE).not.toBe(DEFAULT_HEARTBEAT_NAMESPACE);
  });
});
