/**
 * The heartbeat on the wire and when to send it. `HeartbeatPublisher` takes any CloudWatchClient, so
 * a simulator can drive it with an in-memory one; `HeartbeatSchedule` is the pure "publish now?" rule.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import {
  HEARTBEAT_FAILING,
  HEARTBEAT_HEALTHY,
  HEARTBEAT_METRIC,
  HEARTBEAT_STORAGE_RESOLUTION,
  instanceDimensions,
  zoneDimensions,
} from '../common/heartbeat';
import { isRetryable, retryPolicy, withBoundedRetries, type AttemptOutcome, type RetryOptions, type RetryPolicy } from './bounded-retry';

export type HeartbeatValue = typeof HEARTBEAT_HEALTHY | typeof HEARTBEAT_FAILING;

export interface HeartbeatSource {
  namespace: string;
  groupName: string;
  instanceId: string;
  availabilityZone: string;
}

/** One request, two datums: the per-instance series (controller) and the per-zone one (alarms). */
export function heartbeatCommand(source: HeartbeatSource, value: HeartbeatValue, timestamp: Date): PutMetricDataCommand {
  const datum = (Dimensions: MetricDatum['Dimensions']): MetricDatum => ({
    MetricName: HEARTBEAT_METRIC,
    Dimensions,
    Value: value,
    Timestamp: timestamp,
    Unit: 'None',
    StorageResolution: HEARTBEAT_STORAGE_RESOLUTION,
  });
  return new PutMetricDataCommand({
    Namespace: source.namespace,
    MetricData: [
      datum(instanceDimensions(source.groupName, source.instanceId)),
      datum(zoneDimensions(source.groupName, source.availabilityZone)),
    ],
  });
}

/**
 * The CloudWatch client of the agent: the SDK's own retries are off (we bound them ourselves, within
 * a cycle's deadline), and request compression is off (bodies are tiny; some emulators reject gzip).
 * Endpoint, region and credentials follow the SDK's standard settings (AWS_ENDPOINT_URL…).
 */
export function createCloudWatchClient(region: string | undefined): CloudWatchClient {
  return new CloudWatchClient({ ...(region ? { region } : {}), maxAttempts: 1, disableRequestCompression: true });
}

export type PublishOutcome = AttemptOutcome;

/** Re-exported: callers and tests know it from here. */
export { isRetryable };

/** Attempts per publish (first included), back-off and sleep: see bounded-retry.ts. */
export type PublisherOptions = RetryOptions;

export const DEFAULT_PUBLISH_ATTEMPTS = 3;

export class HeartbeatPublisher {
  private readonly retry: RetryPolicy;

  constructor(
    private readonly client: CloudWatchClient,
    private readonly source: HeartbeatSource,
    options: PublisherOptions = {},
  ) {
    this.retry = retryPolicy(options, DEFAULT_PUBLISH_ATTEMPTS);
  }

  /** Never throws: gives up after maxAttempts, a non-retryable error, or when `signal` aborts. */
  async publish(value: HeartbeatValue, timestamp: Date, signal: AbortSignal): Promise<PublishOutcome> {
    return withBoundedRetries(this.retry, signal, async () => {
      await this.client.send(heartbeatCommand(this.source, value, timestamp), { abortSignal: signal });
    });
  }
}

/**
 * When to publish: 1 at most once per heartbeat period while healthy, and at once on recovery
 * after a 0; 0 on the first failing cycle, then at most once per period while failing. A publish
 * that failed is not recorded, so the next cycle tries again. `slackMs` absorbs timer jitter (a
 * cycle a few ms early still counts).
 */
export class HeartbeatSchedule {
  private lastHealthyAt: number | undefined;
  private lastFailingAt: number | undefined;
  private failingSince: number | undefined;

  constructor(
    private readonly periodMs: number,
    private readonly slackMs = 0,
  ) {}

  private due(last: number | undefined, now: number): boolean {
    return last === undefined || now - last >= this.periodMs - this.slackMs;
  }

  decide(healthy: boolean, now: number): HeartbeatValue | undefined {
    if (healthy) {
      this.failingSince = undefined;
      // After a 0 the controller's newest value says "failing": correct it at once, so a short
      // blip is seen as over before the controller moves routes on it.
      const lastSentFailing = this.lastFailingAt !== undefined && (this.lastHealthyAt ?? -Infinity) < this.lastFailingAt;
      return lastSentFailing || this.due(this.lastHealthyAt, now) ? HEARTBEAT_HEALTHY : undefined;
    }
    this.failingSince ??= now;
    const reportedThisFailure = this.lastFailingAt !== undefined && this.lastFailingAt >= this.failingSince;
    return !reportedThisFailure || this.due(this.lastFailingAt, now) ? HEARTBEAT_FAILING : undefined;
  }

  recordPublished(value: HeartbeatValue, now: number): void {
    if (value === HEARTBEAT_HEALTHY) this.lastHealthyAt = now;
    else this.lastFailingAt = now;
  }
}
