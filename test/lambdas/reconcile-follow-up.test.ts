import { AutoScalingClient, DescribeAutoScalingGroupsCommand, SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
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
import { answerReportQuery, type ReportLogContents } from '../support/report-log';

const ec2 = mockClient(EC2Client);
const autoScaling = mockClient(AutoScalingClient);
const dynamoDb = mockClient(DynamoDBClient);
const T0 = Date.parse('2026-06-01T12:00:00Z');

/** The report log: `beats(id)` answers the Query for a NAT's beats at the moment it is sent. */
function logHolds(clock: { now: number }, beats: ReportLogContents['beats'], witnesses?: ReportLogContents['witnesses']) {
  dynamoDb.on(QueryCommand).callsFake((input: QueryCommandInput) => answerReportQuery(input, { beats, witnesses }));
}

/** Healthy beats every 10 s, the newest 2 s before the clock. */
function everyTenSeconds(clock: { now: number }) {
  const live: { at: Date; value: number }[] = [];
  for (let t = clock.now - 2_000; t > clock.now - 60_000; t -= 10_000) live.unshift({ at: new Date(t), value: 1 });
  return live;
}

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
  logHolds(clock, (id) => {
    if (id === 'i-a1') return [T0 - 44_000, T0 - 34_000, T0 - 24_000, T0 - 14_000].map((t) => ({ at: new Date(t), value: 1 }));
    return everyTenSeconds(clock);
  });
  ec2.on(ReplaceRouteCommand).resolves({});
  autoScaling.on(SetInstanceHealthCommand).resolves({});
}

function handlerAt(clock: { now: number }, sleeps: number[]) {
  const runtime = createRuntime({
    config: { ...DEFAULT_CONFIG, graceSeconds: 0, reportTable: 'natbeat-test-reports' },
    clients: () => ({ ec2: new EC2Client({}), autoScaling: new AutoScalingClient({}), dynamoDb: new DynamoDBClient({}) }),
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
    dynamoDb.reset();
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
    dynamoDb.reset();
  });

  const report = (instanceId: string) => ({
    source: 'natbeat.intake',
    'detail-type': 'Verified NAT Self-Report',
    time: new Date(T0).toISOString(),
    detail: { instanceId, groupName: 'nat', availabilityZone: 'us-east-1a', failedProbes: ['forward-path'], callerArn: `arn:aws:sts::123456789012:assumed-role/nat-role/${instanceId}` },
  });

  /** Both NATs beat every 10 s; the intake recorded i-a1's `0` at T0 (before it woke the run). */
  function reportingWorld(clock: { now: number }) {
    world(clock);
    logHolds(clock, (id) => {
      const live = everyTenSeconds(clock);
      if (id !== 'i-a1') return live;
      return [...live.filter((b) => b.at.getTime() < T0), { at: new Date(T0), value: 0 }];
    });
  }

  it('moves the reporting NAT’s tables in the very run it wakes, without looking again', async () => {
    const clock = { now: T0 + 500 };
    const sleeps: number[] = [];
    reportingWorld(clock);
    const response = await handlerAt(clock, sleeps)(report('i-a1'), context);
    expect(sleeps).toEqual([]);
    expect(response.status).toBe('reconciled');
    expect(autoScaling).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(ReplaceRouteCommand, { RouteTableId: 'rtb-a', NetworkInterfaceId: 'eni-b1' });
    // A single explicit failure moves routes; replacement waits for a whole silence window.
    expect(autoScaling).not.toHaveReceivedCommand(SetInstanceHealthCommand);
  });

  it('reads the report log strongly consistently, so the intake’s write before the wake is seen', async () => {
    const clock = { now: T0 + 500 };
    reportingWorld(clock);
    await handlerAt(clock, [])(report('i-a1'), context);
    const queries = dynamoDb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.every((q) => q.ConsistentRead === true && q.TableName === 'natbeat-test-reports')).toBe(true);
  });

  it('moves nothing when the reporting NAT’s log shows it healthy (a report is only a wake-up)', async () => {
    const clock = { now: T0 + 500 };
    const sleeps: number[] = [];
    world(clock);
    logHolds(clock, () => everyTenSeconds(clock));
    const response = await handlerAt(clock, sleeps)(report('i-a1'), context);
    expect(response.status).toBe('reconciled');
    expect(sleeps).toEqual([]);
    expect(ec2).not.toHaveReceivedCommand(ReplaceRouteCommand);
  });

  it('acts on at most one report in ten seconds, however many arrive', async () => {
    const clock = { now: T0 + 500 };
    reportingWorld(clock);
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
    dynamoDb.reset();
  });

  it('sends ReconcileRuns on every run and the other counts only when they are not zero', async () => {
    const clients = () => ({ ec2: new EC2Client({}), autoScaling: new AutoScalingClient({}), dynamoDb: new DynamoDBClient({}) });
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
