import { AutoScalingClient, DescribeAutoScalingGroupsCommand, SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import { createRuntime } from '../../lambdas/core/runtime';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { reconcile } from '../../lambdas/core/reconcile';
import { silentLog } from '../../lambdas/core/log';

const ec2 = mockClient(EC2Client);
const autoScaling = mockClient(AutoScalingClient);
const cloudWatch = mockClient(CloudWatchClient);
const T0 = Date.parse('2026-06-01T12:00:00Z');

/** Two NATs; i-a1 beat last at T0 - 14 s and never again, i-b1 beats every 10 s. */
function world(clock: { now: number }) {
  autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: 'nat',
        VPCZoneIdentifier: 'subnet-pa,subnet-pb',
        HealthCheckGracePeriod: 0,
        MinSize: 2,
        MaxSize: 2,
        DesiredCapacity: 2,
        DefaultCooldown: 0,
        HealthCheckType: 'EC2',
        CreatedTime: new Date(T0 - 86_400_000),
        AvailabilityZones: ['us-east-1a', 'us-east-1b'],
        Instances: ['a', 'b'].map((z) => ({
          InstanceId: `i-${z}1`,
          AvailabilityZone: `us-east-1${z}`,
          LifecycleState: 'InService',
          HealthStatus: 'Healthy',
          ProtectedFromScaleIn: false,
        })),
      },
    ],
  });
  ec2.on(DescribeRouteTablesCommand).resolves({
    RouteTables: ['a', 'b'].map((z) => ({
      RouteTableId: `rtb-${z}`,
      VpcId: 'vpc-1',
      Associations: [{ SubnetId: `subnet-${z}` }],
      Routes: [{ DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: `eni-${z}1`, InstanceId: `i-${z}1`, State: 'active' }],
    })),
  });
  ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: ['a', 'b'].flatMap((z) => [
      { SubnetId: `subnet-${z}`, VpcId: 'vpc-1', AvailabilityZone: `us-east-1${z}` },
      { SubnetId: `subnet-p${z}`, VpcId: 'vpc-1', AvailabilityZone: `us-east-1${z}` },
    ]),
  });
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: ['a', 'b'].map((z) => ({
          InstanceId: `i-${z}1`,
          State: { Name: 'running' },
          LaunchTime: new Date(T0 - 3_600_000),
          VpcId: 'vpc-1',
          SourceDestCheck: false,
          NetworkInterfaces: [{ NetworkInterfaceId: `eni-${z}1`, Attachment: { DeviceIndex: 0 } }],
        })),
      },
    ],
  });
  cloudWatch.on(GetMetricDataCommand).callsFake(() => {
    const deadA = [T0 - 44_000, T0 - 34_000, T0 - 24_000, T0 - 14_000].map((t) => new Date(t));
    const liveB: Date[] = [];
    for (let t = clock.now - 2_000; t > clock.now - 60_000; t -= 10_000) liveB.unshift(new Date(t));
    return {
      MetricDataResults: [
        { Id: 'q0', Timestamps: deadA, Values: deadA.map(() => 1), StatusCode: 'Complete' },
        { Id: 'q1', Timestamps: liveB, Values: liveB.map(() => 1), StatusCode: 'Complete' },
      ],
    };
  });
  ec2.on(ReplaceRouteCommand).resolves({});
  autoScaling.on(SetInstanceHealthCommand).resolves({});
}

function handlerAt(clock: { now: number }, sleeps: number[]) {
  const runtime = createRuntime({
    config: { ...DEFAULT_CONFIG, graceSeconds: 0 },
    clients: () => ({ ec2: new EC2Client({}), autoScaling: new AutoScalingClient({}), cloudWatch: new CloudWatchClient({}) }),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test', singleMetric: false }),
    now: () => new Date(clock.now),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
  });
  return createReconcileHandler(runtime);
}

const context = { getRemainingTimeInMillis: () => 60_000, functionName: 'reconcile', awsRequestId: 'r-1' } as unknown as Context;
const alarm = (state: 'ALARM' | 'OK') => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  detail: { alarmName: 'natbeat-nat-us-east-1a-no-heartbeat', state: { value: state } },
});

describe('Function: reconcile handler follow-up', () => {
  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true'); // EMF lines would only clutter the output
    ec2.reset();
    autoScaling.reset();
    cloudWatch.reset();
  });

  it('waits for an overdue NAT’s silence window after an ALARM and then fails its zone over', async () => {
    const clock = { now: T0 };
    const sleeps: number[] = [];
    world(clock);
    const response = await handlerAt(clock, sleeps)(alarm('ALARM'), context);
    expect(sleeps).toEqual([11_500]); // silent at T0 - 14 s + 25.5 s
    expect(response.status).toBe('reconciled');
    expect(ec2).toHaveReceivedCommandWith(ReplaceRouteCommand, { RouteTableId: 'rtb-a', NetworkInterfaceId: 'eni-b1' });
    expect(autoScaling).toHaveReceivedCommandWith(SetInstanceHealthCommand, { InstanceId: 'i-a1', HealthStatus: 'Unhealthy' });
  });

  it('does not wait on a scheduled run or an OK transition', async () => {
    for (const event of [alarm('OK'), { source: 'aws.events', 'detail-type': 'Scheduled Event' }]) {
      const clock = { now: T0 };
      const sleeps: number[] = [];
      world(clock);
      await handlerAt(clock, sleeps)(event, context);
      expect(sleeps).toEqual([]);
      expect(ec2).not.toHaveReceivedCommand(ReplaceRouteCommand);
    }
  });

  it('does not wait past the time Lambda has left', async () => {
    const clock = { now: T0 };
    const sleeps: number[] = [];
    world(clock);
    const short = { ...context, getRemainingTimeInMillis: () => 20_000 } as Context;
    await handlerAt(clock, sleeps)(alarm('ALARM'), short);
    expect(sleeps).toEqual([]);
  });
});

describe('Function: reconcile handler, verified self-report (from the intake)', () => {
  beforeEach(() => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    ec2.reset();
    autoScaling.reset();
    cloudWatch.reset();
  });

  const report = (instanceId: string) => ({
    source: 'natbeat.intake',
    'detail-type': 'Verified NAT Self-Report',
    time: new Date(T0).toISOString(),
    detail: { instanceId, groupName: 'nat', availabilityZone: 'us-east-1a', failedProbes: ['forward-path'], callerArn: `arn:aws:sts::123456789012:assumed-role/nat-role/${instanceId}` },
  });

  /** Both NATs beat every 10 s; i-a1 publishes a 0 at T0, visible in CloudWatch from T0 + visibleAfterMs. */
  function reportingWorld(clock: { now: number }, visibleAfterMs: number) {
    world(clock);
    cloudWatch.on(GetMetricDataCommand).callsFake(() => {
      const live: Date[] = [];
      for (let t = clock.now - 2_000; t > clock.now - 60_000; t -= 10_000) live.unshift(new Date(t));
      const a = live.filter((t) => t.getTime() < T0).map((at) => ({ at, value: 1 }));
      if (clock.now >= T0 + visibleAfterMs) a.push({ at: new Date(T0), value: 0 });
      return {
        MetricDataResults: [
          { Id: 'q0', Timestamps: a.map((x) => x.at), Values: a.map((x) => x.value), StatusCode: 'Complete' },
          { Id: 'q1', Timestamps: live, Values: live.map(() => 1), StatusCode: 'Complete' },
        ],
      };
    });
  }

  it('looks again until CloudWatch shows the reported failure, then fails the zone over', async () => {
    const clock = { now: T0 + 500 };
    const sleeps: number[] = [];
    reportingWorld(clock, 5_000);
    const response = await handlerAt(clock, sleeps)(report('i-a1'), context);
    expect(sleeps).toEqual([2_000, 2_000, 2_000]);
    expect(response.status).toBe('reconciled');
    expect(ec2).toHaveReceivedCommandWith(ReplaceRouteCommand, { RouteTableId: 'rtb-a', NetworkInterfaceId: 'eni-b1' });
    // A single explicit failure moves routes; replacement waits for a whole silence window.
    expect(autoScaling).not.toHaveReceivedCommand(SetInstanceHealthCommand);
  });

  it('gives up after a bounded wait when the failure never shows', async () => {
    const clock = { now: T0 + 500 };
    const sleeps: number[] = [];
    reportingWorld(clock, Number.POSITIVE_INFINITY);
    await handlerAt(clock, sleeps)(report('i-a1'), context);
    expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(20_000);
    expect(sleeps.length).toBeGreaterThan(0);
    expect(ec2).not.toHaveReceivedCommand(ReplaceRouteCommand);
  });

  it('does not wait for an instance it does not manage', async () => {
    const clock = { now: T0 + 500 };
    const sleeps: number[] = [];
    reportingWorld(clock, Number.POSITIVE_INFINITY);
    const response = await handlerAt(clock, sleeps)(report('i-0ffff'), context);
    expect(response.status).toBe('reconciled');
    expect(sleeps).toEqual([]);
    expect(ec2).not.toHaveReceivedCommand(ReplaceRouteCommand);
  });

  it('acts on at most one report in ten seconds, however many arrive', async () => {
    const clock = { now: T0 + 500 };
    reportingWorld(clock, 0);
    const handler = handlerAt(clock, []);
    expect((await handler(report('i-a1'), context)).status).toBe('reconciled');
    clock.now += 5_000;
    expect(await handler(report('i-a1'), context)).toMatchObject({ status: 'ignored', message: expect.stringMatching(/5 s ago/) });
    clock.now += 5_000;
    expect((await handler(report('i-a1'), context)).status).toBe('reconciled');
    expect(autoScaling).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 2);
  });

  it('ignores a report with a malformed instance id without calling AWS', async () => {
    const clock = { now: T0 };
    const response = await handlerAt(clock, [])(report('not-an-instance'), context);
    expect(response).toMatchObject({ status: 'ignored' });
    expect(autoScaling).not.toHaveReceivedCommand(DescribeAutoScalingGroupsCommand);
  });
});

describe('Function: reconcile metrics', () => {
  beforeEach(() => {
    ec2.reset();
    autoScaling.reset();
    cloudWatch.reset();
  });

  it('sends ReconcileRuns on every run and the other counts only when they are not zero', async () => {
    const clients = () => ({ ec2: new EC2Client({}), autoScaling: new AutoScalingClient({}), cloudWatch: new CloudWatchClient({}) });
    const sent: Record<string, number>[] = [];
    for (const now of [T0, T0 + 12_000]) {
      const clock = { now };
      world(clock);
      const metrics: Record<string, number> = {};
      await reconcile({
        clients: clients(),
        config: { ...DEFAULT_CONFIG, graceSeconds: 0 },
        log: silentLog,
        metrics: { add: (name, value) => (metrics[name] = value) },
        now: () => new Date(clock.now),
      });
      sent.push(metrics);
    }
    expect(sent[0]).toEqual({ ReconcileRuns: 1 });
    expect(sent[1]).toEqual({
      ReconcileRuns: 1,
      SilentNats: 1,
      UnhealthyMarks: 1,
      RouteChanges: 1,
      TablesWithoutSameAzNat: 1,
    });
  });
});
