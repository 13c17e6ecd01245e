import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { mockFakeAws, plainClients } from '../support/aws-mock';
import { awsError, type FakeAws, type FakeNat } from '../support/fake-aws';
import { buildFleet, hexId, type Fleet } from '../support/fleet';
import { lambdaContext, testRuntime } from '../support/runtime';
import launch from '../fixtures/events/launch.json';
import terminate from '../fixtures/events/terminate.json';
import testNotification from '../fixtures/events/test-notification.json';
import unknownDetailType from '../fixtures/events/unknown-detail-type.json';
import badInstanceId from '../fixtures/events/malformed-lifecycle-bad-instance-id.json';
import noDetail from '../fixtures/events/malformed-lifecycle-no-detail.json';

const NOW = new Date('2026-06-01T12:00:00Z');
const GROUP = 'natbeat-0000';
const EIP = 'eipalloc-0a1b2c3d4e5f60718';
/** The fixtures' instances: i-…1 serves us-east-1a, i-…4 is the one launching there. */
const LEAVING = terminate.detail.EC2InstanceId;
const LAUNCHING = launch.detail.EC2InstanceId;

const restorers: (() => void)[] = [];

/** One group, NATs i-…1/2/3 in us-east-1a/b/c, each table on its own AZ's NAT. */
function deployment(): Fleet {
  const fleet = buildFleet({ now: NOW, groups: 1, nats: 3 });
  expect(fleet.natIds[0]).toBe(LEAVING);
  return fleet;
}

/** A NAT launching into us-east-1a: Pending:Wait, source/dest check still on, launched 40 s ago. */
function addLaunching(fake: FakeAws, overrides: Partial<FakeNat> = {}): FakeNat {
  const nat: FakeNat = {
    instanceId: LAUNCHING,
    groupName: GROUP,
    availabilityZone: 'us-east-1a',
    vpcId: hexId('vpc', 1),
    subnetId: fake.groups.get(GROUP)!.subnetIds[0]!,
    networkInterfaceId: hexId('eni', 4),
    lifecycleState: 'Pending:Wait',
    healthStatus: 'Healthy',
    ec2State: 'running',
    launchTime: new Date(NOW.getTime() - 40_000),
    sourceDestCheck: true,
    ...overrides,
  };
  fake.nats.set(nat.instanceId, nat);
  fake.groups.get(GROUP)!.instanceIds.push(nat.instanceId);
  return nat;
}

/** The reconcile function, which lifecycle actions are routed to; `later()` moves its clock on 30 s (a later delivery). */
function handlerFor(fleet: Fleet, config: Parameters<typeof testRuntime>[0]['config'] = {}) {
  const mocks = mockFakeAws(fleet.fake);
  restorers.push(mocks.restore);
  let now = NOW.getTime();
  const t = testRuntime({ clients: plainClients, now: () => new Date(now), config });
  return { ...t, handler: createReconcileHandler(t.runtime), later: () => (now += 30_000) };
}

const mutating = (fake: FakeAws) => fake.mutatingCalls().map((c) => c.command.replace(/Command$/, ''));
const tableOf = (fleet: Fleet, az: 'a' | 'b' | 'c') => fleet.tablesByGroup.get(GROUP)!['abc'.indexOf(az)]!;

describe('Function: reconcile handler, lifecycle actions (mocked AWS)', () => {
  afterEach(() => {
    restorers.splice(0).forEach((restore) => restore());
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  describe('launch', () => {
    it('prepares a proved NAT, moves its zone’s route to it, then completes the hook with CONTINUE — in that order', async () => {
      const fleet = deployment();
      // The old us-east-1a NAT is gone; its table was failed over to us-east-1b.
      fleet.fake.nats.get(LEAVING)!.ec2State = undefined;
      fleet.fake.groups.get(GROUP)!.instanceIds.shift();
      fleet.fake.tables.get(tableOf(fleet, 'a'))!.defaultRoute = { ...fleet.fake.tables.get(tableOf(fleet, 'b'))!.defaultRoute };
      fleet.fake.groups.get(GROUP)!.tags[`natbeat:eip:us-east-1a`] = EIP;
      fleet.fake.addresses.set(EIP, {});
      addLaunching(fleet.fake);
      fleet.fake.beat(LAUNCHING, new Date(NOW.getTime() - 3000));

      const { handler } = handlerFor(fleet);
      const response = await handler(launch, lambdaContext);
      expect(response.status).toBe('handled');
      expect(response.message).toMatch(/proved it routes.*CONTINUE done/);
      expect(fleet.fake.mutatingCalls().map((c) => [c.command, c.input])).toEqual([
        ['ModifyInstanceAttributeCommand', { InstanceId: LAUNCHING, SourceDestCheck: { Value: false } }],
        ['AssociateAddressCommand', { AllocationId: EIP, NetworkInterfaceId: hexId('eni', 4), AllowReassociation: true }],
        ['ReplaceRouteCommand', { RouteTableId: tableOf(fleet, 'a'), DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: hexId('eni', 4) }],
        ['CompleteLifecycleActionCommand', { AutoScalingGroupName: GROUP, LifecycleHookName: 'natbeat-launch', InstanceId: LAUNCHING, LifecycleActionResult: 'CONTINUE' }],
      ]);
      expect(fleet.fake.nats.get(LAUNCHING)?.lifecycleState).toBe('InService');
      expect(fleet.fake.routeTargetOf(tableOf(fleet, 'a'))).toBe(LAUNCHING);
    });

    it('before the first heartbeat: prepares the NAT but gives it no route and keeps the hook open', async () => {
      const fleet = deployment();
      addLaunching(fleet.fake);
      const { handler } = handlerFor(fleet);
      const response = await handler(launch, lambdaContext);
      expect(response.status).toBe('waiting');
      expect(response.message).toMatch(/has not proved it routes yet/);
      expect(mutating(fleet.fake)).toEqual(['ModifyInstanceAttribute']);
      expect(fleet.fake.routeTargetOf(tableOf(fleet, 'a'))).toBe(LEAVING);
    });

    it('abandons a NAT that has not proved itself within the proof timeout', async () => {
      const fleet = deployment();
      addLaunching(fleet.fake, { launchTime: new Date(NOW.getTime() - 700_000), sourceDestCheck: false });
      const { handler } = handlerFor(fleet, { launchProofTimeoutSeconds: 600 });
      const response = await handler(launch, lambdaContext);
      expect(response.status).toBe('handled');
      expect(fleet.fake.mutatingCalls().map((c) => [c.command, c.input.LifecycleActionResult])).toEqual([
        ['CompleteLifecycleActionCommand', 'ABANDON'],
      ]);
      expect(fleet.fake.routeTargetOf(tableOf(fleet, 'a'))).toBe(LEAVING);
    });

    it('the same launch event twice: the second changes nothing and says the NAT is already in service', async () => {
      const fleet = deployment();
      addLaunching(fleet.fake, { sourceDestCheck: false });
      fleet.fake.beat(LAUNCHING, new Date(NOW.getTime() - 3000));
      const { handler, later } = handlerFor(fleet);
      expect((await handler(launch, lambdaContext)).status).toBe('handled');
      const before = fleet.fake.mutatingCalls().length;
      later();
      const again = await handler(launch, lambdaContext);
      expect(fleet.fake.mutatingCalls()).toHaveLength(before);
      expect(again.status).toBe('handled');
      expect(again.message).toMatch(/InService/);
    });
  });

  describe('terminate', () => {
    it('hands every table on the leaving NAT to a healthy peer before CONTINUE', async () => {
      const fleet = deployment();
      // The leaving NAT also carries the us-east-1c table (its own NAT there is gone).
      const nat3 = fleet.natIds[2]!;
      fleet.fake.nats.get(nat3)!.ec2State = undefined;
      fleet.fake.groups.get(GROUP)!.instanceIds.pop();
      fleet.fake.tables.get(tableOf(fleet, 'c'))!.defaultRoute = { ...fleet.fake.tables.get(tableOf(fleet, 'a'))!.defaultRoute };
      fleet.fake.nats.get(LEAVING)!.lifecycleState = 'Terminating:Wait';

      const { handler } = handlerFor(fleet);
      const response = await handler(terminate, lambdaContext);
      expect(response.status).toBe('handled');
      expect(response.message).toMatch(/2 route table\(s\) handed over first; CONTINUE done/);
      expect(mutating(fleet.fake)).toEqual(['ReplaceRoute', 'ReplaceRoute', 'CompleteLifecycleAction']);
      const peer = fleet.natIds[1]!;
      expect(fleet.fake.routeTargetOf(tableOf(fleet, 'a'))).toBe(peer);
      expect(fleet.fake.routeTargetOf(tableOf(fleet, 'c'))).toBe(peer);
      expect(fleet.fake.mutatingCalls().at(-1)?.input).toEqual({
        AutoScalingGroupName: GROUP,
        LifecycleHookName: 'natbeat-terminate',
        InstanceId: LEAVING,
        LifecycleActionResult: 'CONTINUE',
      });
    });

    it('with no healthy NAT left: CONTINUE anyway, routes left as they are, and an alert logged', async () => {
      const fleet = deployment();
      fleet.fake.nats.get(LEAVING)!.lifecycleState = 'Terminating:Wait';
      for (const id of fleet.natIds.slice(1)) fleet.fake.nats.get(id)!.healthStatus = 'Unhealthy';
      const { handler, logs } = handlerFor(fleet);
      const response = await handler(terminate, lambdaContext);
      expect(response.status).toBe('handled');
      expect(mutating(fleet.fake)).toEqual(['CompleteLifecycleAction']);
      expect(fleet.fake.routeTargetOf(tableOf(fleet, 'a'))).toBe(LEAVING);
      const alert = logs.find((l) => l.level === 'warn' && l.extra.alert === 'LeavingWithoutSuccessor');
      expect(alert?.message).toContain(`${LEAVING} is terminating and no healthy NAT can take ${tableOf(fleet, 'a')}`);
    });

    it('the same terminate event twice: the second finds nothing to hand over', async () => {
      const fleet = deployment();
      fleet.fake.nats.get(LEAVING)!.lifecycleState = 'Terminating:Wait';
      const { handler, later } = handlerFor(fleet);
      expect((await handler(terminate, lambdaContext)).status).toBe('handled');
      const before = fleet.fake.mutatingCalls().length;
      later();
      const again = await handler(terminate, lambdaContext);
      expect(again).toEqual({ status: 'handled', message: `${LEAVING} is Terminating:Proceed: nothing to hand over`, actions: [] });
      expect(fleet.fake.mutatingCalls()).toHaveLength(before);
    });

    it('a terminate before its launch was handled: CONTINUE the terminate; the late launch event routes nothing to it', async () => {
      const fleet = deployment();
      addLaunching(fleet.fake, { lifecycleState: 'Terminating:Wait', sourceDestCheck: false });
      const { handler, later } = handlerFor(fleet);
      const leaving = await handler({ ...terminate, detail: { ...terminate.detail, EC2InstanceId: LAUNCHING } }, lambdaContext);
      expect(leaving.status).toBe('handled');
      expect(mutating(fleet.fake)).toEqual(['CompleteLifecycleAction']);
      later();
      const late = await handler(launch, lambdaContext);
      expect(late.status).toBe('handled');
      expect(mutating(fleet.fake)).toEqual(['CompleteLifecycleAction']);
      expect(fleet.groupNames.flatMap((g) => fleet.tablesByGroup.get(g)!).map((t) => fleet.fake.routeTargetOf(t))).toEqual(fleet.natIds);
    });

    it('an event for an instance that is already gone', async () => {
      const fleet = deployment();
      const { handler } = handlerFor(fleet);
      const gone = hexId('i', 0xdead);
      const response = await handler({ ...terminate, detail: { ...terminate.detail, EC2InstanceId: gone } }, lambdaContext);
      expect(response).toEqual({ status: 'handled', message: `${gone} is no longer in ${GROUP} (already gone or finished): nothing to do`, actions: [] });
      expect(mutating(fleet.fake)).toEqual([]);
    });
  });

  it('fails the invocation when nothing could be observed (a caught failure must still reach Errors and the dead-letter queue)', async () => {
    const fleet = deployment();
    addLaunching(fleet.fake);
    fleet.fake.faults.push((call) => (call.command === 'DescribeAutoScalingGroupsCommand' ? awsError('Throttling', 'slow down') : undefined));
    const { handler, logs, metrics } = handlerFor(fleet);
    await expect(handler(launch, lambdaContext)).rejects.toThrow(/could not read auto-scaling-groups: Throttling: slow down/);
    expect(logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual(['reconcile failed']);
    expect(metrics).toContainEqual({ name: 'Errors', value: 1 });
    expect(mutating(fleet.fake)).toEqual([]);
  });

  describe('events natbeat does not act on', () => {
    it('a group not managed by natbeat: ignored with a reason, its instance untouched', async () => {
      const fleet = deployment();
      const { handler } = handlerFor(fleet);
      const response = await handler({ ...terminate, detail: { ...terminate.detail, AutoScalingGroupName: 'web-asg' } }, lambdaContext);
      expect(response).toEqual({ status: 'ignored', message: 'group web-asg is not managed by natbeat (or could not be read)', actions: [] });
      expect(mutating(fleet.fake)).toEqual([]);
    });

    it.each([
      ['the Auto Scaling test notification', testNotification, /^test notification$/],
      ['an unknown detail-type', unknownDetailType, /^not a schedule, alarm, lifecycle action, verified self-report or witness report, or reconcile request: /],
      ['an instance id that is not one', badInstanceId, /^not a schedule, alarm, lifecycle action, verified self-report or witness report, or reconcile request: .*must be an instance id/],
      ['a lifecycle event without detail', noDetail, /^not a schedule, alarm, lifecycle action, verified self-report or witness report, or reconcile request: /],
      ['a foreign hook name', { ...launch, detail: { ...launch.detail, LifecycleHookName: 'someone-elses-hook' } }, /^hook someone-elses-hook is not natbeat's launch hook \(natbeat-launch\)$/],
      ['null', null, /^not a schedule, alarm, lifecycle action, verified self-report or witness report, or reconcile request: /],
    ])('%s: ignored with a reason, no AWS call', async (_name, event, reason) => {
      const fleet = deployment();
      const { handler, logs } = handlerFor(fleet);
      const response = await handler(event, lambdaContext);
      expect(response.status).toBe('ignored');
      expect(response.message).toMatch(reason);
      expect(logs.filter((l) => l.level === 'info' || l.level === 'warn').length).toBeGreaterThan(0);
      expect(fleet.fake.calls).toEqual([]);
    });
  });
});
