import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../sim/clock';
import { DEFAULT_WORLD_PARAMS, type WorldParams } from '../../sim/params';
import { fixed, Random } from '../../sim/random';
import { Timeline } from '../../sim/timeline';
import { AutoScalingWorld, type SimGroup } from '../../sim/world/autoscaling';
import { CloudWatchWorld, type AlarmDefinition } from '../../sim/world/cloudwatch';
import { IdFactory, type WorldContext } from '../../sim/world/context';
import { Ec2World } from '../../sim/world/ec2';

const T0 = Date.UTC(2025, 0, 1);

function context(params: Partial<WorldParams> = {}): WorldContext {
  const clock = new VirtualClock(T0);
  return { clock, rng: new Random(1), params: { ...DEFAULT_WORLD_PARAMS, ...params }, timeline: new Timeline(() => clock.now()), zonesDown: new Set() };
}

const dims = [{ Name: 'AvailabilityZone', Value: 'us-east-1a' }];
const put = (cw: CloudWatchWorld, value: number, at: number) =>
  cw.handle('PutMetricData', { Namespace: 'NatBeat', MetricData: [{ MetricName: 'RoutingHeartbeat', Dimensions: dims, Value: value, Timestamp: new Date(at), StorageResolution: 1 }] });
const query = (cw: CloudWatchWorld, now: number) =>
  cw.handle('GetMetricData', {
    MetricDataQueries: [{ Id: 'q0', MetricStat: { Metric: { Namespace: 'NatBeat', MetricName: 'RoutingHeartbeat', Dimensions: dims }, Period: 1, Stat: 'Minimum' } }],
    StartTime: new Date(now - 60_000),
    EndTime: new Date(now),
    ScanBy: 'TimestampAscending',
  }) as { MetricDataResults: { Values: number[] }[] };

describe('Class: CloudWatchWorld', () => {
  it('shows a datapoint only after the visibility delay', async () => {
    const ctx = context({ metricVisibilitySeconds: fixed(5) });
    const cw = new CloudWatchWorld(ctx);
    put(cw, 1, T0);
    expect(query(cw, T0 + 1).MetricDataResults[0]!.Values).toEqual([]);
    await ctx.clock.run(T0 + 5000);
    expect(query(cw, T0 + 5000).MetricDataResults[0]!.Values).toEqual([1]);
  });

  it('rejects PutMetricData with a server error during a rejecting outage', () => {
    const ctx = context();
    const cw = new CloudWatchWorld(ctx);
    cw.outages.push({ from: T0, until: T0 + 60_000, mode: 'reject' });
    expect(() => put(cw, 1, T0)).toThrow(expect.objectContaining({ name: 'InternalServiceFault' }));
  });

  const silentAlarm: AlarmDefinition = {
    name: 'silent',
    namespace: 'NatBeat',
    metricName: 'RoutingHeartbeat',
    dimensions: dims,
    stat: 'Maximum',
    periodSeconds: 10,
    evaluationPeriods: 3,
    threshold: 1,
    comparison: 'LessThanThreshold',
    treatMissingData: 'breaching',
  };

  it('alarms on silence only after every evaluated period is empty (missing data breaching)', async () => {
    const ctx = context({ metricVisibilitySeconds: fixed(0) });
    const cw = new CloudWatchWorld(ctx);
    put(cw, 1, T0 + 1000);
    await ctx.clock.run(T0 + 30_000);
    expect(cw.evaluate(silentAlarm)).toBe('OK'); // the beat at +1 s is still inside the range
    await ctx.clock.run(T0 + 50_000);
    expect(cw.evaluate(silentAlarm)).toBe('ALARM');
  });

  it('alarms on an explicit failure (Minimum < 1) in one period and announces the change', async () => {
    const ctx = context({ metricVisibilitySeconds: fixed(0) });
    const cw = new CloudWatchWorld(ctx);
    const changes: string[] = [];
    cw.onAlarmStateChange = (alarm) => changes.push(alarm.state);
    cw.addAlarm({ ...silentAlarm, name: 'failing', stat: 'Minimum', evaluationPeriods: 1, treatMissingData: 'notBreaching' });
    put(cw, 1, T0 + 1000);
    put(cw, 0, T0 + 3000);
    await ctx.clock.run(T0 + 10_000);
    cw.evaluateAlarms();
    expect(changes).toEqual(['ALARM']);
  });
});

function asgWorld(order: SimGroup['order'], hooks: SimGroup['hooks'] = []) {
  const ctx = context({ asgCycleSeconds: 10, healthCheckGraceSeconds: 0 });
  const ec2 = new Ec2World(ctx, new IdFactory());
  const subnet = ec2.addSubnet('vpc-1', 'us-east-1a');
  const events: string[] = [];
  const asg = new AutoScalingWorld(ctx, ec2, {
    launch: (subnetId) => {
      const i = ec2.runInstance(subnetId, {});
      ctx.clock.after(ctx.params.instancePendingSeconds * 1000, () => (i.state = 'running'));
      return i;
    },
    lifecycleEvent: (d) => events.push(`${d.LifecycleTransition}:${d.EC2InstanceId}`),
  });
  const first = ec2.runInstance(subnet.subnetId, {});
  first.state = 'running';
  first.launchTime = T0 - 3600_000;
  const group: SimGroup = { name: 'g', tags: {}, subnetIds: [subnet.subnetId], desired: 1, healthCheckGraceSeconds: 0, hooks, order, instances: [{ instanceId: first.instanceId, availabilityZone: 'us-east-1a', lifecycleState: 'InService', healthStatus: 'Healthy' }] };
  asg.addGroup(group);
  ctx.clock.every(10_000, T0 + 10_000, () => asg.cycle());
  return { ctx, ec2, asg, group, first, events };
}

describe('Class: AutoScalingWorld', () => {
  it('terminate-first: the Unhealthy instance goes before its replacement launches', async () => {
    const { ctx, asg, group, first, ec2 } = asgWorld('terminate-first');
    asg.handle('SetInstanceHealth', { InstanceId: first.instanceId, HealthStatus: 'Unhealthy' });
    await ctx.clock.run(T0 + 10_000);
    expect(ec2.instances.get(first.instanceId)!.state).toBe('shutting-down');
    expect(group.instances.filter((i) => i.instanceId !== first.instanceId)).toHaveLength(1);
  });

  it('launch-first: the Unhealthy instance stays until its replacement is InService', async () => {
    const { ctx, asg, group, first, ec2 } = asgWorld('launch-first');
    asg.handle('SetInstanceHealth', { InstanceId: first.instanceId, HealthStatus: 'Unhealthy' });
    await ctx.clock.run(T0 + 20_000);
    expect(ec2.instances.get(first.instanceId)!.state).toBe('running');
    expect(group.instances).toHaveLength(2);
    await ctx.clock.run(T0 + 60_000);
    expect(ec2.instances.get(first.instanceId)!.state).not.toBe('running');
  });

  it('applies a launch hook’s default result at its timeout, and rejects a late CompleteLifecycleAction', async () => {
    const hook = { name: 'launch', transition: 'launch' as const, timeoutSeconds: 60, defaultResult: 'ABANDON' as const };
    const { ctx, asg, group, first, events } = asgWorld('terminate-first', [hook]);
    asg.handle('SetInstanceHealth', { InstanceId: first.instanceId, HealthStatus: 'Unhealthy' });
    await ctx.clock.run(T0 + 15_000);
    const launched = group.instances.find((i) => i.instanceId !== first.instanceId)!;
    expect(launched.lifecycleState).toBe('Pending:Wait');
    expect(events).toEqual([`autoscaling:EC2_INSTANCE_LAUNCHING:${launched.instanceId}`]);
    await ctx.clock.run(T0 + 80_000);
    expect(launched.lifecycleState).toBe('Terminating:Proceed');
    expect(() =>
      asg.handle('CompleteLifecycleAction', { AutoScalingGroupName: 'g', LifecycleHookName: 'launch', InstanceId: launched.instanceId, LifecycleActionResult: 'CONTINUE' }),
    ).toThrow(/No active Lifecycle Action/);
  });
});

describe('Class: Ec2World', () => {
  it('blackholes a route whose NAT is terminated, and refuses ReplaceRoute without a route', async () => {
    const ctx = context({ shutdownSeconds: 1 });
    const ec2 = new Ec2World(ctx, new IdFactory());
    const subnet = ec2.addSubnet('vpc-1', 'us-east-1a');
    const table = ec2.addRouteTable('vpc-1', [subnet.subnetId], { network: 'private' });
    const nat = ec2.runInstance(subnet.subnetId, {});
    nat.state = 'running';
    expect(() => ec2.handle('ReplaceRoute', { RouteTableId: table.routeTableId, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: nat.primaryEniId })).toThrow(
      expect.objectContaining({ name: 'InvalidRoute.NotFound' }),
    );
    ec2.handle('CreateRoute', { RouteTableId: table.routeTableId, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: nat.primaryEniId });
    expect(ec2.routeState(ec2.defaultRoute(table)!)).toBe('active');
    ec2.terminate(nat.instanceId);
    await ctx.clock.run(T0 + 2000);
    expect(ec2.routeState(ec2.defaultRoute(table)!)).toBe('blackhole');
  });
});
