import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HEARTBEAT_FAILING, HEARTBEAT_HEALTHY } from '../../common/heartbeat';
import { HeartbeatPublisher, HeartbeatSchedule, isRetryable } from '../../agent/publisher';

const SOURCE = { namespace: 'NatBeat', groupName: 'nat-asg', instanceId: 'i-0abc', availabilityZone: 'eu-west-1a' };
const cloudWatch = mockClient(CloudWatchClient);
const noSleep = async () => undefined;

function serverError(status: number, name = 'InternalServiceFault') {
  return Object.assign(new Error(`${name} (${status})`), { name, $metadata: { httpStatusCode: status } });
}

describe('Class: HeartbeatPublisher', () => {
  beforeEach(() => cloudWatch.reset());

  it('sends one PutMetricData with the per-instance and per-zone datums at 1 s resolution', async () => {
    cloudWatch.on(PutMetricDataCommand).resolves({});
    const at = new Date('2026-01-01T00:00:00Z');
    const outcome = await new HeartbeatPublisher(new CloudWatchClient({}), SOURCE).publish(HEARTBEAT_HEALTHY, at, new AbortController().signal);
    expect(outcome).toEqual({ ok: true, attempts: 1 });
    expect(cloudWatch).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    expect(cloudWatch).toHaveReceivedCommandWith(PutMetricDataCommand, {
      Namespace: 'NatBeat',
      MetricData: [
        {
          MetricName: 'RoutingHeartbeat',
          Dimensions: [
            { Name: 'AutoScalingGroupName', Value: 'nat-asg' },
            { Name: 'InstanceId', Value: 'i-0abc' },
          ],
          Value: 1,
          Timestamp: at,
          Unit: 'None',
          StorageResolution: 1,
        },
        {
          MetricName: 'RoutingHeartbeat',
          Dimensions: [
            { Name: 'AutoScalingGroupName', Value: 'nat-asg' },
            { Name: 'AvailabilityZone', Value: 'eu-west-1a' },
          ],
          Value: 1,
          Timestamp: at,
          Unit: 'None',
          StorageResolution: 1,
        },
      ],
    });
  });

  it('retries a server error up to the attempt bound, then gives up without throwing', async () => {
    cloudWatch.on(PutMetricDataCommand).rejects(serverError(500));
    const publisher = new HeartbeatPublisher(new CloudWatchClient({}), SOURCE, { maxAttempts: 3, sleep: noSleep });
    const outcome = await publisher.publish(HEARTBEAT_FAILING, new Date(), new AbortController().signal);
    expect(outcome).toMatchObject({ ok: false, attempts: 3 });
    expect(outcome.error).toContain('InternalServiceFault');
    expect(cloudWatch).toHaveReceivedCommandTimes(PutMetricDataCommand, 3);
  });

  it('succeeds on a retry after throttling', async () => {
    cloudWatch.on(PutMetricDataCommand).rejectsOnce(serverError(400, 'Throttling')).resolves({});
    const publisher = new HeartbeatPublisher(new CloudWatchClient({}), SOURCE, { sleep: noSleep });
    expect(await publisher.publish(HEARTBEAT_HEALTHY, new Date(), new AbortController().signal)).toEqual({ ok: true, attempts: 2 });
  });

  it('does not retry a rejected request', async () => {
    cloudWatch.on(PutMetricDataCommand).rejects(serverError(403, 'AccessDenied'));
    const publisher = new HeartbeatPublisher(new CloudWatchClient({}), SOURCE, { sleep: noSleep });
    expect(await publisher.publish(HEARTBEAT_HEALTHY, new Date(), new AbortController().signal)).toMatchObject({ ok: false, attempts: 1 });
  });

  it('stops retrying once the cycle deadline has passed', async () => {
    const deadline = new AbortController();
    cloudWatch.on(PutMetricDataCommand).callsFake(() => {
      deadline.abort();
      throw serverError(503);
    });
    const publisher = new HeartbeatPublisher(new CloudWatchClient({}), SOURCE, { maxAttempts: 5, sleep: noSleep });
    const outcome = await publisher.publish(HEARTBEAT_HEALTHY, new Date(), deadline.signal);
    expect(outcome).toMatchObject({ ok: false, attempts: 1 });
    expect(outcome.error).toContain('deadline reached');
  });

  it('classifies errors', () => {
    expect(isRetryable(new Error('socket hang up'))).toBe(true);
    expect(isRetryable(serverError(502))).toBe(true);
    expect(isRetryable(serverError(400, 'InvalidParameterValue'))).toBe(false);
  });
});

describe('Class: HeartbeatSchedule', () => {
  const PERIOD = 10_000;

  it('publishes 1 at most once per period while healthy', () => {
    const schedule = new HeartbeatSchedule(PERIOD);
    const published: number[] = [];
    for (let t = 0; t <= 30_000; t += 2_000) {
      const value = schedule.decide(true, t);
      if (value !== undefined) {
        schedule.recordPublished(value, t);
        published.push(t);
      }
    }
    expect(published).toEqual([0, 10_000, 20_000, 30_000]);
  });

  it('publishes 0 on the first failing cycle, then once per period while failing', () => {
    const schedule = new HeartbeatSchedule(PERIOD);
    schedule.recordPublished(HEARTBEAT_HEALTHY, 0);
    const decisions: [number, number | undefined][] = [];
    for (let t = 2_000; t <= 24_000; t += 2_000) {
      const value = schedule.decide(false, t);
      if (value !== undefined) schedule.recordPublished(value, t);
      decisions.push([t, value]);
    }
    expect(decisions.filter(([, value]) => value !== undefined)).toEqual([
      [2_000, 0],
      [12_000, 0],
      [22_000, 0],
    ]);
  });

  it('publishes 0 at once for a new failure even if the last 0 was recent', () => {
    const schedule = new HeartbeatSchedule(PERIOD);
    expect(schedule.decide(false, 0)).toBe(0);
    schedule.recordPublished(0, 0);
    expect(schedule.decide(true, 2_000)).toBe(1);
    schedule.recordPublished(1, 2_000);
    expect(schedule.decide(false, 4_000)).toBe(0);
  });

  it('publishes 1 at once on recovery after a 0, then keeps the period', () => {
    const schedule = new HeartbeatSchedule(PERIOD);
    schedule.recordPublished(HEARTBEAT_HEALTHY, 0);
    expect(schedule.decide(false, 2_000)).toBe(0);
    schedule.recordPublished(0, 2_000);
    expect(schedule.decide(true, 4_000)).toBe(1);
    schedule.recordPublished(1, 4_000);
    expect(schedule.decide(true, 6_000)).toBeUndefined();
    expect(schedule.decide(true, 14_000)).toBe(1);
  });

  it('tries again next cycle when a publish failed (nothing recorded)', () => {
    const schedule = new HeartbeatSchedule(PERIOD);
    expect(schedule.decide(false, 0)).toBe(0);
    expect(schedule.decide(false, 2_000)).toBe(0);
    schedule.recordPublished(0, 2_000);
    expect(schedule.decide(false, 4_000)).toBeUndefined();
  });

  it('absorbs timer jitter with the slack', () => {
    const strict = new HeartbeatSchedule(PERIOD);
    const tolerant = new HeartbeatSchedule(PERIOD, 1_000);
    for (const schedule of [strict, tolerant]) schedule.recordPublished(1, 0);
    expect(strict.decide(true, 9_990)).toBeUndefined();
    expect(tolerant.decide(true, 9_990)).toBe(1);
  });
});
