/**
 * Latencies and delays of the simulated AWS world. Each default says where it comes from:
 * [AWS] documented, [3P] third-party figure, GUESS where no source gives one. Every one of them
 * can be overridden from a scenario file (`world`) or the bench.
 */
import { DEFAULT_HEARTBEAT_PERIOD_SECONDS, DEFAULT_PROBE_INTERVAL_SECONDS } from '../common/heartbeat';

export interface WorldParams {
  /** CloudWatch: seconds from PutMetricData until GetMetricData and alarms see the datapoint. UNCONFIRMED ("a few seconds"). */
  metricVisibilitySeconds: number;
  /**
   * CloudWatch: extra visibility delay per datapoint, uniform in [0, this] seconds (0 = every
   * datapoint takes exactly metricVisibilitySeconds). UNCONFIRMED; used as a sensitivity.
   */
  metricVisibilityJitterSeconds: number;
  /** CloudWatch: high-resolution (10/30 s) alarms are evaluated every 10 s [AWS PutMetricAlarm]. */
  alarmEvaluationSeconds: number;
  /**
   * CloudWatch: when the newest period of an alarm's range has no visible data yet, the alarm
   * judges the periods before it (late data gets one period of grace). UNCONFIRMED model choice.
   */
  alarmSkipsEmptyNewestPeriod: boolean;
  /** EventBridge: delivery delay of an event to its target. GUESS (~1 s). */
  eventDeliverySeconds: number;
  /** EventBridge schedules: one-minute rate at best [AWS]. */
  schedulePeriodSeconds: number;
  /** Lambda: cold start of a small esbuild bundle, 100–400 ms [3P]. */
  lambdaColdStartMs: number;
  /** Lambda: invocation overhead when warm. GUESS. */
  lambdaWarmStartMs: number;
  /** Lambda: an environment idle this long is cold again. GUESS. */
  lambdaIdleColdSeconds: number;
  /**
   * Lambda: an asynchronous Invoke (InvocationType Event, the agent's failure report) is accepted
   * at once (202) and handed to the function after this delay, ms range. GUESS (0.2–1 s).
   */
  lambdaAsyncInvokeDelayMs: [number, number];
  /** Async invocations older than this are dropped (reconcile: maxEventAge 2 min in infra). */
  lambdaMaxEventAgeSeconds: number;
  /** Any AWS API call: latency range in ms. GUESS (tens of ms in-Region). */
  apiLatencyMs: [number, number];
  /** EC2 status checks run every minute [AWS]. */
  statusCheckIntervalSeconds: number;
  /** Auto Scaling waits "a few minutes" before replacing an impaired instance [AWS]; 3 min is a GUESS. */
  impairedReplaceAfterSeconds: number;
  /** Auto Scaling: period of its health/capacity pass; SetInstanceHealth Unhealthy is acted on at the next. GUESS ("immediately"). */
  asgCycleSeconds: number;
  /** EC2: pending → running. GUESS. */
  instancePendingSeconds: number;
  /** Boot → NAT configured and the agent's first probe. GUESS (60–90 s to a first heartbeat). */
  bootSeconds: number;
  /** EC2: shutting-down → terminated. GUESS. */
  shutdownSeconds: number;
  /** Launch hook HeartbeatTimeout (infra: launchProofTimeout 600 s + 120 s), DefaultResult ABANDON. */
  launchHookTimeoutSeconds: number;
  /** Terminate hook HeartbeatTimeout (infra: 2 min), DefaultResult CONTINUE. */
  terminateHookTimeoutSeconds: number;
  /** The group's HealthCheckGracePeriod (infra: gracePeriod 300 s). */
  healthCheckGraceSeconds: number;
  /**
   * Replacement order for natbeat's group: infra sets minHealthyPercentage 100, so Auto Scaling
   * launches the replacement first [AWS instance maintenance policy].
   */
  natbeatReplacementOrder: 'launch-first' | 'terminate-first';
  /** Baselines (fck-nat, the seed's script) have no maintenance policy: terminate, then launch. */
  baselineReplacementOrder: 'launch-first' | 'terminate-first';
  /**
   * Agent: on the first failing cycle of an episode it invokes reconcile asynchronously with a
   * failure report (agent/failure-report.ts; the agent's --reconcile-function). Off = alarms only.
   */
  agentFailureReports: boolean;
  /** Agent: seconds between probe cycles (common/heartbeat.ts). */
  probeIntervalSeconds: number;
  /** Agent: seconds between two heartbeats of the same value (common/heartbeat.ts). */
  heartbeatPeriodSeconds: number;
  /** Agent: a failing forward-path probe takes its whole timeout: min(1 s, interval/2) (agent/config.ts). */
  probeTimeoutSeconds: number;
  /** EC2 throttling token buckets per account [AWS ec2-api-throttling]: [burst, refill per s]. */
  ec2DescribeBucket: [number, number];
  ec2MutateBucket: [number, number];
  /** fck-nat: a booting NAT retries attaching the static ENI this often while the old one holds it. GUESS. */
  staticEniRetrySeconds: number;
}

export const DEFAULT_WORLD_PARAMS: WorldParams = {
  metricVisibilitySeconds: 5,
  metricVisibilityJitterSeconds: 0,
  alarmEvaluationSeconds: 10,
  alarmSkipsEmptyNewestPeriod: true,
  eventDeliverySeconds: 1,
  schedulePeriodSeconds: 60,
  lambdaColdStartMs: 300,
  lambdaWarmStartMs: 10,
  lambdaIdleColdSeconds: 600,
  lambdaAsyncInvokeDelayMs: [200, 1000],
  lambdaMaxEventAgeSeconds: 120,
  apiLatencyMs: [20, 80],
  statusCheckIntervalSeconds: 60,
  impairedReplaceAfterSeconds: 180,
  asgCycleSeconds: 10,
  instancePendingSeconds: 15,
  bootSeconds: 75,
  shutdownSeconds: 30,
  launchHookTimeoutSeconds: 720,
  terminateHookTimeoutSeconds: 120,
  healthCheckGraceSeconds: 300,
  natbeatReplacementOrder: 'launch-first',
  baselineReplacementOrder: 'terminate-first',
  agentFailureReports: true,
  probeIntervalSeconds: DEFAULT_PROBE_INTERVAL_SECONDS,
  heartbeatPeriodSeconds: DEFAULT_HEARTBEAT_PERIOD_SECONDS,
  probeTimeoutSeconds: Math.min(1, DEFAULT_PROBE_INTERVAL_SECONDS / 2),
  ec2DescribeBucket: [100, 20],
  ec2MutateBucket: [50, 5],
  staticEniRetrySeconds: 5,
};
