import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAwsClients } from '../../lambdas/core/clients';
import { ENV } from '../../lambdas/core/config';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { installFakeTransport, mockFakeAws, plainClients } from '../support/aws-mock';
import { awsError, type FakeAws, type FakeCall } from '../support/fake-aws';
import { buildFleet, THREE_AZS, type Fleet } from '../support/fleet';
import { lambdaContext, testRuntime, type TestRuntimeOptions } from '../support/runtime';
import alarm from '../fixtures/events/alarm-state-change.json';
import malformedAlarm from '../fixtures/events/malformed-alarm-state.json';
import scheduled from '../fixtures/events/scheduled.json';

const NOW = new Date('2026-06-01T12:00:00Z');

const restorers: (() => void)[] = [];
function mockAws(fake: FakeAws) {
  const mocks = mockFakeAws(fake);
  restorers.push(mocks.restore);
  return mocks;
}

function handlerFor(fleet: Fleet, config: TestRuntimeOptions['config'] = {}) {
  const mocks = mockAws(fleet.fake);
  const t = testRuntime({ clients: plainClients, now: NOW, config });
  return { ...t, ...mocks, handler: createReconcileHandler(t.runtime) };
}

const mutating = (fake: FakeAws) => fake.mutatingCalls().map((c) => c.command);
/** Instances whose beats were read (one Query each; witness Queries are counted apart). */
const idsQueried = (fake: FakeAws, prefix = 'beat#') =>
  fake.calls
    .filter((c) => c.command === 'QueryCommand' && String(c.input.ExpressionAttributeValues[':from'].S).startsWith(prefix))
    .map((c) => c.input.ExpressionAttributeValues[':pk'].S as string);
const failWhen =
  (command: string, test: (input: FakeCall['input']) => boolean, error: () => Error) =>
  (call: FakeCall) =>
    call.command === command && test(call.input) ? error() : undefined;

describe('Function: reconcile handler (mocked AWS)', () => {
  afterEach(() => {
    restorers.splice(0).forEach((restore) => restore());
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('changes nothing when every zone is served by its own healthy NAT', async () => {
    const fleet = buildFleet({ now: NOW, groups: 2, nats: 6 });
    const { handler, logs } = handlerFor(fleet);
    const response = await handler(scheduled, lambdaContext);
    expect(response).toEqual({ status: 'reconciled', actions: [] });
    expect(mutating(fleet.fake)).toEqual([]);
    expect(logs.find((l) => l.message === 'reconcile finished')?.extra).toMatchObject({ groups: 2, nats: 6, routeTables: 6, actions: 0 });
  });

  it('moves a silent NAT’s table to a healthy peer before marking it Unhealthy', async () => {
    const fleet = buildFleet({ now: NOW, groups: 1, nats: 3, silent: 1 });
    const [dead] = fleet.silentIds as [string];
    const [deadTable] = fleet.tablesByGroup.get(fleet.groupNames[0]!)! as [string];
    const { handler, metrics } = handlerFor(fleet);
    const response = await handler(alarm, { ...lambdaContext, getRemainingTimeInMillis: () => 1000 });
    expect(response.status).toBe('reconciled');
    expect(mutating(fleet.fake)).toEqual(['ReplaceRouteCommand', 'SetInstanceHealthCommand']);
    const successor = fleet.fake.routeTargetOf(deadTable);
    expect(successor).toBeDefined();
    expect(successor).not.toBe(dead);
    expect(fleet.fake.nats.get(successor!)?.healthStatus).toBe('Healthy');
    expect(fleet.fake.nats.get(dead)?.healthStatus).toBe('Unhealthy');
    expect(metrics).toEqual(expect.arrayContaining([{ name: 'UnhealthyMarks', value: 1 }, { name: 'RouteChanges', value: 1 }]));
  });

  it('reads > 100 groups and > 500 NATs page by page, each NAT’s beats once and witnesses only of overdue NATs', async () => {
    // 120 groups of 4–5 NATs in 3 AZs: 2 pages of groups, 4 pages of route tables.
    const fleet = buildFleet({ now: NOW, groups: 120, nats: 540, silent: 4 });
    const { handler, autoScaling, ec2 } = handlerFor(fleet);
    const response = await handler(scheduled, lambdaContext);
    expect(response.status).toBe('reconciled');

    // The fake keeps a copy of each input (the SDK's paginators reuse theirs from page to page).
    const inputsOf = (command: string) => fleet.fake.calls.filter((c) => c.command === command).map((c) => c.input);
    expect(autoScaling.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(2);
    expect(inputsOf('DescribeAutoScalingGroupsCommand').map((p) => [p.NextToken, p.MaxRecords])).toEqual([[undefined, 100], ['100', 100]]);
    expect(ec2.commandCalls(DescribeRouteTablesCommand)).toHaveLength(4);
    expect(inputsOf('DescribeRouteTablesCommand').map((p) => p.NextToken)).toEqual([undefined, '100', '200', '300']);
    expect(new Set(idsQueried(fleet.fake))).toEqual(new Set(fleet.natIds));
    expect(idsQueried(fleet.fake)).toHaveLength(540);
    expect(idsQueried(fleet.fake, 'witness#').sort()).toEqual([...fleet.silentIds].sort());
    // Strongly consistent: an item the intake wrote before it woke the run is in it.
    expect(fleet.fake.calls.filter((c) => c.command === 'QueryCommand').every((c) => c.input.ConsistentRead === true)).toBe(true);
    // The silent NATs are spread over both pages of groups; every one is acted on.
    const marked = fleet.fake.calls.filter((c) => c.command === 'SetInstanceHealthCommand').map((c) => c.input.InstanceId);
    expect(marked.sort()).toEqual([...fleet.silentIds].sort());
    expect(fleet.silentIds.map((id) => fleet.fake.nats.get(id)?.groupName).some((g) => Number(g!.slice(-4)) >= 100)).toBe(true);
  });

  describe('throttling', () => {
    // aws-sdk-client-mock stubs `send`, which skips the SDK's retry middleware; so these tests
    // answer below it (installFakeTransport) and use the production clients' retry settings.
    function throttledRuntime(fleet: Fleet, maxAttempts: number) {
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
      const clients = createAwsClients({ region: 'us-east-1', maxAttempts });
      installFakeTransport(clients, fleet.fake);
      const t = testRuntime({ clients: () => clients, now: NOW });
      return { ...t, handler: createReconcileHandler(t.runtime) };
    }

    it('retries a throttled read and a throttled write, then succeeds', async () => {
      const fleet = buildFleet({ now: NOW, groups: 1, nats: 3, silent: 1 });
      const throttled = new Set<string>();
      // Each of these commands is throttled on its first attempt only.
      fleet.fake.faults.push((call) => {
        const first = !throttled.has(call.command);
        throttled.add(call.command);
        if (!first) return undefined;
        if (call.command === 'DescribeRouteTablesCommand' || call.command === 'ReplaceRouteCommand') {
          return awsError('RequestLimitExceeded', 'Request limit exceeded.', { throttling: true, status: 503 });
        }
        if (call.command === 'QueryCommand') return awsError('ThrottlingException', 'Rate exceeded', { throttling: true });
        return undefined;
      });
      const { handler } = throttledRuntime(fleet, 3);
      const response = await handler(scheduled, lambdaContext);
      expect(response.status).toBe('reconciled');
      const count = (command: string) => fleet.fake.commands((c) => c === command).length;
      expect(count('DescribeRouteTablesCommand')).toBe(2);
      // The first Query is throttled once and retried; the other NATs' Queries pass at once.
      expect(count('QueryCommand')).toBe(3 + 1 + 1);
      expect(count('ReplaceRouteCommand')).toBe(2);
      expect(count('DescribeAutoScalingGroupsCommand')).toBe(1);
      expect(response.actions?.map((a) => `${a.kind}:${a.status}`)).toEqual(['SetRoute:done', 'SetUnhealthy:done']);
    });

    it('gives up after the configured attempts: heartbeats unknown, so nothing is changed', async () => {
      const fleet = buildFleet({ now: NOW, groups: 1, nats: 3, silent: 1 });
      fleet.fake.faults.push(failWhen('QueryCommand', () => true, () => awsError('ThrottlingException', 'Rate exceeded', { throttling: true })));
      const { handler, text } = throttledRuntime(fleet, 2);
      const response = await handler(scheduled, lambdaContext);
      expect(response).toEqual({ status: 'reconciled', actions: [] });
      // Every NAT's Query tried twice (maxAttempts 2), then the whole read is given up.
      expect(fleet.fake.commands((c) => c === 'QueryCommand')).toHaveLength(3 * 2);
      expect(mutating(fleet.fake)).toEqual([]);
      expect(text()).toMatch(/observation failed.*heartbeats.*ThrottlingException/);
    });
  });

  describe('partial failure', () => {
    it('leaves a group whose instances could not be read, and its VPC’s routes, alone; acts on the others', async () => {
      // 70 groups × 3 NATs: groups 0–65 fill the first DescribeInstances batch (198 ids), 66–69 the second.
      const fleet = buildFleet({ now: NOW, groups: 70, nats: 210 });
      const silentOk = fleet.fake.groups.get('natbeat-0001')!.instanceIds[0]!;
      const silentLost = fleet.fake.groups.get('natbeat-0068')!.instanceIds[0]!;
      for (const id of [silentOk, silentLost]) fleet.fake.heartbeats.set(id, []);
      fleet.fake.faults.push(
        failWhen(
          'DescribeInstancesCommand',
          (input) => input.Filters[0].Values.includes(silentLost),
          () => awsError('InternalError', 'An internal error has occurred', { status: 500 }),
        ),
      );
      const { handler, ec2, text } = handlerFor(fleet);
      const response = await handler(scheduled, lambdaContext);
      expect(response.status).toBe('reconciled');
      expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(2);

      const lostTables = new Set(fleet.tablesByGroup.get('natbeat-0068'));
      const touched = fleet.fake.mutatingCalls().map((c) => c.input.RouteTableId ?? c.input.InstanceId);
      expect(touched).toEqual([fleet.tablesByGroup.get('natbeat-0001')![0], silentOk]);
      expect(touched.some((id) => lostTables.has(id) || id === silentLost)).toBe(false);
      expect(fleet.fake.nats.get(silentLost)?.healthStatus).toBe('Healthy');
      expect(text()).toMatch(/observation failed.*natbeat-0068.*DescribeInstances failed: InternalError/);
    });

    it('keeps going when one SetInstanceHealth and one route write fail', async () => {
      const fleet = buildFleet({ now: NOW, groups: 6, nats: 18, silent: 3 });
      const [a, b, c] = fleet.silentIds as [string, string, string];
      const tableOf = (id: string) => {
        const nat = fleet.fake.nats.get(id)!;
        return fleet.tablesByGroup.get(nat.groupName)![THREE_AZS.indexOf(nat.availabilityZone)]!;
      };
      fleet.fake.faults.push(
        failWhen('ReplaceRouteCommand', (input) => input.RouteTableId === tableOf(a), () => awsError('UnauthorizedOperation', 'You are not authorized')),
        failWhen('SetInstanceHealthCommand', (input) => input.InstanceId === b, () => awsError('ValidationError', 'Instance Id not found')),
      );
      const { handler, text } = handlerFor(fleet);
      const response = await handler(scheduled, lambdaContext);
      expect(response.status).toBe('reconciled');
      expect(fleet.fake.routeTargetOf(tableOf(a))).toBe(a);
      expect(fleet.fake.routeTargetOf(tableOf(b))).not.toBe(b);
      expect(fleet.fake.routeTargetOf(tableOf(c))).not.toBe(c);
      expect(fleet.fake.nats.get(a)?.healthStatus).toBe('Unhealthy');
      expect(fleet.fake.nats.get(b)?.healthStatus).toBe('Healthy');
      expect(fleet.fake.nats.get(c)?.healthStatus).toBe('Unhealthy');
      expect(response.actions?.filter((x) => x.status === 'failed').map((x) => x.detail)).toEqual([
        'UnauthorizedOperation: You are not authorized',
        'ValidationError: Instance Id not found',
      ]);
      expect(text()).toMatch(/error failed to replace 0\.0\.0\.0\/0 in rtb-/);
      expect(text()).toMatch(new RegExp(`error failed to mark ${b} Unhealthy`));
    });
  });

  describe('bad input changes nothing', () => {
    it('logs a malformed setting with its variable and range, and calls no AWS API', async () => {
      const fleet = buildFleet({ now: NOW, groups: 1, nats: 3, silent: 1 });
      mockAws(fleet.fake);
      const t = testRuntime({ clients: plainClients, now: NOW, env: { [ENV.silenceSeconds]: '2', [ENV.maxAttempts]: 'many' } });
      // Thrown, not returned: Lambda's Errors metric counts it and the event goes to the dead-letter queue.
      await expect(createReconcileHandler(t.runtime)(scheduled, lambdaContext)).rejects.toThrow(/Invalid natbeat configuration/);
      const errors = t.logs.filter((l) => l.level === 'error').map((l) => l.message);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('NATBEAT_SILENCE_SECONDS="2": must be a whole number from 5 to 3600');
      expect(errors[0]).toContain('NATBEAT_MAX_ATTEMPTS="many": must be a whole number from 1 to 10');
      expect(t.metrics).toEqual([{ name: 'Errors', value: 1 }]);
      expect(fleet.fake.calls).toEqual([]);
    });

    it.each([
      ['null', null],
      ['an empty object', {}],
      ['a string', 'reconcile please'],
      ['an alarm with an unknown state', malformedAlarm],
      ['a NAT’s own unverified failure report (it may no longer invoke this function)', { source: 'natbeat.agent', 'detail-type': 'NAT Failure Report', detail: { instanceId: 'i-0abc' } }],
      ['a self-report not from the intake (no time, no caller)', { source: 'natbeat.intake', 'detail-type': 'Verified NAT Self-Report', detail: { instanceId: 'i-0abc' } }],
      ['a schedule with the wrong detail-type', { ...scheduled, 'detail-type': 'Scheduled Events' }],
    ])('ignores %s with a logged reason and no AWS call', async (_name, event) => {
      const fleet = buildFleet({ now: NOW, groups: 1, nats: 3, silent: 1 });
      const { handler, logs } = handlerFor(fleet);
      const response = await handler(event, lambdaContext);
      expect(response.status).toBe('ignored');
      expect(response.message).toMatch(/^not a schedule, alarm, lifecycle action, verified self-report or witness report, or reconcile request: .+/);
      expect(logs.filter((l) => l.level === 'warn')).toEqual([
        { level: 'warn', message: 'event ignored', extra: { reason: response.message } },
      ]);
      expect(fleet.fake.calls).toEqual([]);
    });
  });

  it('fails the invocation when nothing could be observed (a caught failure must still reach Errors and the dead-letter queue)', async () => {
    const fleet = buildFleet({ now: NOW, groups: 1, nats: 3 });
    fleet.fake.faults.push((call) => (call.command === 'DescribeRouteTablesCommand' ? awsError('UnauthorizedOperation', 'denied') : undefined));
    const { handler, logs, metrics } = handlerFor(fleet);
    await expect(handler(scheduled, lambdaContext)).rejects.toThrow(/could not read route-tables: UnauthorizedOperation: denied/);
    expect(logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual(['reconcile failed']);
    expect(metrics).toContainEqual({ name: 'Errors', value: 1 });
    expect(mutating(fleet.fake)).toEqual([]);
  });

  it('in dry run, reads but makes no mutating call and logs each action it would take', async () => {
    const fleet = buildFleet({ now: NOW, groups: 2, nats: 6, silent: 1, routes: 'none' });
    fleet.fake.nats.get(fleet.natIds[1]!)!.sourceDestCheck = true;
    const { handler, logs, metrics } = handlerFor(fleet, { dryRun: true });
    const response = await handler(scheduled, lambdaContext);
    expect(response.status).toBe('reconciled');
    expect(fleet.fake.calls.length).toBeGreaterThan(0);
    expect(mutating(fleet.fake)).toEqual([]);
    const kinds = response.actions?.map((a) => a.kind) ?? [];
    expect(kinds).toEqual(['DisableSourceDestCheck', ...Array(6).fill('SetRoute'), 'SetUnhealthy']);
    expect(response.actions?.every((a) => a.status === 'dry-run')).toBe(true);
    const wouldLines = logs.filter((l) => l.message.startsWith('dry run: would '));
    expect(wouldLines.map((l) => l.extra.action)).toEqual(kinds);
    expect(wouldLines.map((l) => l.message)).toContain(`dry run: would mark ${fleet.silentIds[0]} Unhealthy in ${fleet.fake.nats.get(fleet.silentIds[0]!)!.groupName}`);
    expect(metrics).toEqual(expect.arrayContaining([{ name: 'RouteChanges', value: 6 }]));
  });
});
