/**
 * Latencies and delays of the simulated AWS world, in two profiles. Each parameter says where its
 * value comes from: [AWS] documented by AWS, [3P] measured or reported by others, GUESS where no
 * source gives one. `pessimistic` (the default, and the one the published figures use) takes the
 * slow end of what is plausible; `optimistic` is the model the first figures were made with.
 * Every value can be overridden from a scenario file (`world`) or the bench.
 */
import { DEFAULT_HEARTBEAT_PERIOD_SECONDS, DEFAULT_PROBE_INTERVAL_SECONDS } from '../common/heartbeat';
import { fixed, type Latency } from './random';

export interface WorldParams {
  /**
   * CloudWatch: seconds from PutMetricData until GetMetricData and alarms see the datapoint, per
   * datapoint. GUESS: AWS says only that data is available "a few seconds" after it is sent;
   * pessimistic 5 s plus 0–5 s.
   */
  metricVisibilitySeconds: Latency;
  /** CloudWatch: high-resolution (10/30 s) alarms are evaluated every 10 s [AWS PutMetricAlarm]. */
  alarmEvaluationSeconds: number;
  /**
   * CloudWatch: periods an alarm retrieves (its evaluation range, at least EvaluationPeriods);
   * missing data is judged over it (sim/world/alarm-evaluation.ts). The algorithm is [AWS]; the
   * size is not documented: the guide's example retrieves 5 for 3 evaluation periods, users
   * report a 1-of-1 breaching alarm needing 3–4 empty periods [3P]. Pessimistic 4, optimistic 2.
   */
  alarmEvaluationRangePeriods: number;
  /** EventBridge: delivery delay of an event to its target, seconds. GUESS (pessimistic 1.5–4.5 s). */
  eventDeliverySeconds: Latency;
  /** EventBridge schedules: one-minute rate at best [AWS]. */
  schedulePeriodSeconds: number;
  /**
   * EventBridge schedules fire "within that minute, but not on the precise 0th second" [AWS]:
   * each firing comes up to this many seconds after its nominal time. GUESS (pessimistic 10 s).
   */
  scheduleJitterSeconds: number;
  /** Scheduled events reach the function after an EventBridge delivery delay (eventDeliverySeconds). [AWS] that there is one; optimistic: none. */
  scheduleDelivered: boolean;
  /** Lambda: cold start, ms. [3P] Node 22 functions with three SDK clients measure ~0.4–1.7 s; pessimistic 800, optimistic 300. */
  lambdaColdStartMs: number;
  /**
   * The intake's Function URL: round trip of a signed HTTPS POST from a NAT in the Region,
   * without the function's own run (TLS on a kept-alive connection, SigV4 check, routing), ms.
   * GUESS: AWS publishes no figure (pessimistic 30–300 ms, long tail).
   */
  intakeRequestLatencyMs: Latency;
  /**
   * The intake's cold start, ms. [3P] as lambdaColdStartMs for a bundle with SDK clients
   * (pessimistic 800); `npm run -s bench:init` measures the import part of it on a small machine.
   */
  intakeColdStartMs: number;
  /** Lambda: invocation overhead when warm. GUESS. */
  lambdaWarmStartMs: number;
  /** Lambda: an environment idle this long is cold again. GUESS. */
  lambdaIdleColdSeconds: number;
  /**
   * Lambda: an asynchronous Invoke (InvocationType Event, the agent's failure report) is accepted
   * at once (202) and handed to the function after this delay, ms. GUESS (pessimistic 0.2–3 s).
   */
  lambdaAsyncInvokeDelayMs: Latency;
  /**
   * Lambda: an async event that finds the function at its reserved concurrency is throttled,
   * returned to the queue and retried after 1 s, doubling up to 5 min, until its maximum event
   * age (reconcile 2 min, lifecycle 12 min in infra) [AWS invocation-async-error-handling].
   * Off (optimistic): it waits in a FIFO queue for the slot.
   */
  lambdaThrottleBackoff: boolean;
  /** Read API calls (Describe*, GetMetricData, PutMetricData): latency, ms. GUESS (tens of ms in-Region). */
  apiLatencyMs: Latency;
  /** Mutating API calls (ReplaceRoute, SetInstanceHealth, DynamoDB PutItem, …): latency, ms. GUESS (pessimistic 50–300 ms). */
  mutatingApiLatencyMs: Latency;
  /**
   * DynamoDB: an eventually consistent read may miss a write younger than this, ms. [AWS] copies
   * are consistent "usually within one second"; the spread is a GUESS (0–1 s). Strongly
   * consistent reads (what the controller uses) see every completed write [AWS].
   */
  dynamoEventualLagMs: Latency;
  /**
   * EC2: seconds from a ReplaceRoute/CreateRoute answer until traffic follows the new route.
   * GUESS: nobody has published a figure (pessimistic 2 s, optimistic 0).
   */
  routePropagationSeconds: number;
  /** Flow accounting: established connections through each zone's route table. GUESS (it only scales flowsReset). */
  establishedFlowsPerZone: number;
  /**
   * Flow accounting: a route move away from a NAT that still forwards (a planned termination, a
   * failback) hands its connections over without loss. No such handover exists yet: off.
   */
  handoverOnPlannedMoves: boolean;
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
  /** Agent: seconds between probe cycles (common/heartbeat.ts). */
  probeIntervalSeconds: number;
  /** Agent: seconds between two heartbeats of the same value (common/heartbeat.ts). */
  heartbeatPeriodSeconds: number;
  /** Agent: a failing forward-path probe takes its whole timeout: min(1 s, interval/2) (agent/config.ts). */
  probeTimeoutSeconds: number;
  /**
   * Peer probe round trip between NATs, ms. [AWS] "single-digit millisecond" latency between
   * AZs; the spread is a GUESS (pessimistic 0.5–5 ms, long tail).
   */
  peerProbeRttMs: Latency;
  /** Agent: seconds between peer probe rounds, and a probe's timeout (design: 1 s and 1 s). */
  peerProbeIntervalSeconds: number;
  peerProbeTimeoutSeconds: number;
  /** EC2 throttling token buckets per account [AWS ec2-api-throttling]: [burst, refill per s]. */
  ec2DescribeBucket: [number, number];
  ec2MutateBucket: [number, number];
  /** fck-nat: a booting NAT retries attaching the static ENI this often while the old one holds it. GUESS. */
  staticEniRetrySeconds: number;
}

/** The model the first published figures were made with. */
export const OPTIMISTIC_WORLD_PARAMS: WorldParams = {
  metricVisibilitySeconds: fixed(5),
  alarmEvaluationSeconds: 10,
  alarmEvaluationRangePeriods: 2,
  eventDeliverySeconds: { min: 0.5, max: 1.5 },
  schedulePeriodSeconds: 60,
  scheduleJitterSeconds: 0,
  scheduleDelivered: false,
  lambdaColdStartMs: 300,
  lambdaWarmStartMs: 10,
  lambdaIdleColdSeconds: 600,
  lambdaAsyncInvokeDelayMs: { min: 200, max: 1000 },
  lambdaThrottleBackoff: false,
  intakeRequestLatencyMs: { min: 15, max: 60 },
  intakeColdStartMs: 300,
  apiLatencyMs: { min: 20, max: 80 },
  mutatingApiLatencyMs: { min: 20, max: 80 },
  dynamoEventualLagMs: { min: 0, max: 1000 },
  routePropagationSeconds: 0,
  establishedFlowsPerZone: 1000,
  handoverOnPlannedMoves: false,
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
  probeIntervalSeconds: DEFAULT_PROBE_INTERVAL_SECONDS,
  heartbeatPeriodSeconds: DEFAULT_HEARTBEAT_PERIOD_SECONDS,
  probeTimeoutSeconds: Math.min(1, DEFAULT_PROBE_INTERVAL_SECONDS / 2),
  ec2DescribeBucket: [100, 20],
  ec2MutateBucket: [50, 5],
  staticEniRetrySeconds: 5,
  peerProbeRttMs: { min: 0.2, max: 2 },
  peerProbeIntervalSeconds: 1,
  peerProbeTimeoutSeconds: 1,
};

/** The slow end of what is plausible: the published figures. */
export const PESSIMISTIC_WORLD_PARAMS: WorldParams = {
  ...OPTIMISTIC_WORLD_PARAMS,
  metricVisibilitySeconds: { min: 5, max: 10 },
  alarmEvaluationRangePeriods: 4,
  eventDeliverySeconds: { min: 1.5, max: 4.5 },
  scheduleJitterSeconds: 10,
  scheduleDelivered: true,
  lambdaColdStartMs: 800,
  lambdaAsyncInvokeDelayMs: { min: 200, max: 3000 },
  lambdaThrottleBackoff: true,
  intakeRequestLatencyMs: { min: 30, max: 300, shape: 'tail' },
  intakeColdStartMs: 800,
  peerProbeRttMs: { min: 0.5, max: 5, shape: 'tail' },
  mutatingApiLatencyMs: { min: 50, max: 300 },
  routePropagationSeconds: 2,
};

export const PROFILES = { optimistic: OPTIMISTIC_WORLD_PARAMS, pessimistic: PESSIMISTIC_WORLD_PARAMS } as const;
export type ProfileName = keyof typeof PROFILES;
export const DEFAULT_PROFILE: ProfileName = 'pessimistic';
export const DEFAULT_WORLD_PARAMS: WorldParams = PROFILES[DEFAULT_PROFILE];

/** The profile named on a command line; a clear error for anything else. */
export function profileNamed(name: string): ProfileName {
  if (name in PROFILES) return name as ProfileName;
  throw new Error(`unknown profile "${name}": use ${Object.keys(PROFILES).join(' or ')}`);
}
