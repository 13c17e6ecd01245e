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
