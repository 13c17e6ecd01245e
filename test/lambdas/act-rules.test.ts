/**
 * act(): which action waits for which, how many calls run at once, and what each call asks AWS for.
 * The clients here are recorders: each call is logged with its input and may be told to fail.
 */
import { describe, expect, it } from 'vitest';
import { act, describe as describe_, resourceIds, type ActionResult } from '../../lambdas/core/act';
import type { AwsClients } from '../../lambdas/core/clients';
import type { ActionLog } from '../../lambdas/core/log';
import type { Action } from '../../lambdas/core/types';
import { awsError } from '../support/fake-aws';

interface Call {
  command: string;
  input: Record<string, unknown>;
}

function recorder(options: { fail?: (call: Call) => Error | undefined; delayMs?: number } = {}) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const send = async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    const call = { command: command.constructor.name, input: command.input };
    calls.push(call);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
      const error = options.fail?.(call);
      if (error) throw error;
      return {};
    } finally {
      inFlight--;
    }
  };
  const clients = { ec2: { send }, autoScaling: { send }, cloudWatch: { send } } as unknown as AwsClients;
  const lines: string[] = [];
  const log: ActionLog = {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
  return { clients, calls, lines, log, maxInFlight: () => maxInFlight };
}

const route = (table: string, to: string, previous?: string, mode: 'create' | 'replace' = 'replace'): Action => ({
  kind: 'SetRoute',
  routeTableId: table,
  mode,
  instanceId: to,
  networkInterfaceId: `eni-${to}`,
  previousInstanceId: previous,
  reason: 'test',
});
const hook = (instanceId: string, result: 'CONTINUE' | 'ABANDON' = 'CONTINUE'): Action => ({
  kind: 'CompleteLifecycle',
  groupName: 'nat-asg',
  hookName: 'natbeat-terminate',
  instanceId,
  result,
  reason: 'test',
});
const eip = (instanceId: string): Action => ({ kind: 'AssociateElasticIp', allocationId: 'eipalloc-1', instanceId, networkInterfaceId: `eni-${instanceId}`, reason: 'test' });
const sdc = (instanceId: string): Action => ({ kind: 'DisableSourceDestCheck', instanceId, reason: 'test' });
const mark = (instanceId: string): Action => ({ kind: 'SetUnhealthy', groupName: 'nat-asg', instanceId, reason: 'test' });
const statuses = (results: ActionResult[]) =>
  results.map((r) => `${r.action.kind}:${'routeTableId' in r.action ? r.action.routeTableId : r.action.instanceId}:${r.status}`);
const failRouteOf = (table: string) => (call: Call) =>
  call.command === 'ReplaceRouteCommand' && call.input.RouteTableId === table ? awsError('UnauthorizedOperation', 'denied') : undefined;

describe('act(): routes before a hook completes', () => {
  it.each([
    {
      name: 'a failed route write off the leaving NAT holds its CONTINUE back',
      actions: [route('rtb-1', 'i-b', 'i-a'), route('rtb-2', 'i-c', 'i-a'), hook('i-a')],
      fail: failRouteOf('rtb-2'),
      expected: ['SetRoute:rtb-1:done', 'SetRoute:rtb-2:failed', 'CompleteLifecycle:i-a:skipped'],
    },
    {
      name: 'a route write skipped (its new NAT could not be prepared) holds the leaving NAT’s CONTINUE back',
      actions: [sdc('i-b'), route('rtb-1', 'i-b', 'i-a'), hook('i-a')],
      fail: (call: Call) => (call.command === 'ModifyInstanceAttributeCommand' ? awsError('InvalidInstanceID.NotFound', 'gone') : undefined),
      expected: ['DisableSourceDestCheck:i-b:failed', 'SetRoute:rtb-1:skipped', 'CompleteLifecycle:i-a:skipped'],
    },
    {
      name: 'a failed route write to a launching NAT holds its CONTINUE back',
      actions: [route('rtb-1', 'i-new', 'i-old'), hook('i-new')],
      fail: failRouteOf('rtb-1'),
      expected: ['SetRoute:rtb-1:failed', 'CompleteLifecycle:i-new:skipped'],
    },
    {
      name: 'an ABANDON is never held back',
      actions: [route('rtb-1', 'i-b', 'i-a'), hook('i-a', 'ABANDON')],
      fail: failRouteOf('rtb-1'),
      expected: ['SetRoute:rtb-1:failed', 'CompleteLifecycle:i-a:done'],
    },
    {
      name: 'a failure concerning another NAT holds nothing back',
      actions: [sdc('i-x'), route('rtb-1', 'i-b', 'i-a'), route('rtb-2', 'i-y', 'i-z'), hook('i-a')],
      fail: (call: Call) =>
        call.command === 'ModifyInstanceAttributeCommand' || call.input.RouteTableId === 'rtb-2' ? awsError('Throttling', 'slow down') : undefined,
      expected: ['DisableSourceDestCheck:i-x:failed', 'SetRoute:rtb-1:done', 'SetRoute:rtb-2:failed', 'CompleteLifecycle:i-a:done'],
    },
    {
      name: 'a launching NAT whose source/dest check stays on is not let in service, even without a route to write',
      actions: [sdc('i-new'), hook('i-new')],
      fail: (call: Call) => (call.command === 'ModifyInstanceAttributeCommand' ? awsError('Throttling', 'slow down') : undefined),
      expected: ['DisableSourceDestCheck:i-new:failed', 'CompleteLifecycle:i-new:skipped'],
    },
    {
      name: 'a pinned address that could not be moved holds back neither routes nor the hook',
      actions: [eip('i-new'), route('rtb-1', 'i-new', 'i-old'), hook('i-new'), hook('i-old')],
      fail: (call: Call) => (call.command === 'AssociateAddressCommand' ? awsError('Throttling', 'slow down') : undefined),
      expected: ['AssociateElasticIp:i-new:failed', 'SetRoute:rtb-1:done', 'CompleteLifecycle:i-new:done', 'CompleteLifecycle:i-old:done'],
    },
    {
      name: 'a mark for replacement waits for nothing',
      actions: [mark('i-a'), route('rtb-1', 'i-b', 'i-a')],
      fail: failRouteOf('rtb-1'),
      expected: ['SetRoute:rtb-1:failed', 'SetUnhealthy:i-a:done'],
    },
  ])('$name', async ({ actions, fail, expected }) => {
    const { clients, calls, log } = recorder({ fail });
    const results = await act(clients, actions, { dryRun: false, log });
    expect(statuses(results)).toEqual(expected);
    // A skipped action makes no call.
    const skipped = results.filter((r) => r.status === 'skipped').length;
    expect(calls).toHaveLength(results.length - skipped);
    for (const r of results.filter((r) => r.status === 'skipped')) expect(r.detail).toMatch(/^(waiting for|source\/dest check of)/);
  });

  it('says which call a held-back hook waits for', async () => {
    const { clients, log, lines } = recorder({ fail: failRouteOf('rtb-1') });
    const results = await act(clients, [route('rtb-1', 'i-b', 'i-a'), hook('i-a')], { dryRun: false, log });
    expect(results[1]?.detail).toBe('waiting for replace 0.0.0.0/0 in rtb-1 → i-b');
    expect(results[0]?.detail).toBe('UnauthorizedOperation: denied');
    expect(lines).toEqual(['error failed to replace 0.0.0.0/0 in rtb-1 → i-b', 'warn action skipped']);
  });

  it('in a dry run calls nothing and holds nothing back', async () => {
    const { clients, calls, log, lines } = recorder();
    const results = await act(clients, [hook('i-a'), route('rtb-1', 'i-b', 'i-a')], { dryRun: true, log });
    expect(statuses(results)).toEqual(['SetRoute:rtb-1:dry-run', 'CompleteLifecycle:i-a:dry-run']);
    expect(calls).toEqual([]);
    expect(lines).toEqual(['info dry run: would replace 0.0.0.0/0 in rtb-1 → i-b', 'info dry run: would complete natbeat-terminate for i-a with CONTINUE']);
  });
});

describe('act(): concurrency', () => {
  const routes = (n: number) => Array.from({ length: n }, (_, i) => route(`rtb-${i}`, 'i-b'));

  it.each([
    { concurrency: 1, actions: 4, expected: 1 },
    { concurrency: 2, actions: 5, expected: 2 },
    { concurrency: undefined, actions: 12, expected: 8 },
    { concurrency: 8, actions: 3, expected: 3 },
  ])('at most $concurrency calls at once ($actions actions): $expected', async ({ concurrency, actions, expected }) => {
    const { clients, calls, log, maxInFlight } = recorder({ delayMs: 20 });
    const results = await act(clients, routes(actions), { dryRun: false, log, concurrency });
    expect(maxInFlight()).toBe(expected);
    expect(calls).toHaveLength(actions);
    expect(results.map((r) => (r.action as { routeTableId: string }).routeTableId)).toEqual(routes(actions).map((a) => (a as { routeTableId: string }).routeTableId));
  });
});

describe('act(): what each call asks for', () => {
  it('sends every kind of action with the exact input AWS needs', async () => {
    const { clients, calls, log } = recorder();
    const results = await act(
      clients,
      [
        mark('i-a'),
        hook('i-a'),
        route('rtb-1', 'i-b', 'i-a'),
        route('rtb-2', 'i-b', undefined, 'create'),
        { kind: 'AssociateElasticIp', allocationId: 'eipalloc-1', instanceId: 'i-b', networkInterfaceId: 'eni-i-b', reason: 'test' },
        sdc('i-b'),
      ],
      { dryRun: false, log },
    );
    expect(results.every((r) => r.status === 'done')).toBe(true);
    expect(calls).toEqual([
      { command: 'AssociateAddressCommand', input: { AllocationId: 'eipalloc-1', NetworkInterfaceId: 'eni-i-b', AllowReassociation: true } },
      { command: 'ModifyInstanceAttributeCommand', input: { InstanceId: 'i-b', SourceDestCheck: { Value: false } } },
      { command: 'ReplaceRouteCommand', input: { RouteTableId: 'rtb-1', DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: 'eni-i-b' } },
      { command: 'CreateRouteCommand', input: { RouteTableId: 'rtb-2', DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: 'eni-i-b' } },
      {
        command: 'CompleteLifecycleActionCommand',
        input: { AutoScalingGroupName: 'nat-asg', LifecycleHookName: 'natbeat-terminate', InstanceId: 'i-a', LifecycleActionResult: 'CONTINUE' },
      },
      // The controller's verdict stands even in the group's grace period: the NAT proved nothing.
      { command: 'SetInstanceHealthCommand', input: { InstanceId: 'i-a', HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false } },
    ]);
  });

  it.each([
    { code: 'ValidationError', message: 'No active Lifecycle Action found with instance ID i-a', status: 'done' },
    { code: 'ValidationError', message: 'no active lifecycle action', status: 'done' },
    { code: 'ValidationError', message: 'Unable to complete lifecycle action', status: 'failed' },
    { code: 'AccessDenied', message: 'No active Lifecycle Action found', status: 'failed' },
  ])('a hook answered with $code "$message" is $status', async ({ code, message, status }) => {
    const { clients, log } = recorder({ fail: (call) => (call.command === 'CompleteLifecycleActionCommand' ? awsError(code, message) : undefined) });
    const [result] = await act(clients, [hook('i-a')], { dryRun: false, log });
    expect(result?.status).toBe(status);
  });

  it.each([
    { mode: 'create' as const, code: 'RouteAlreadyExists', calls: ['CreateRouteCommand', 'ReplaceRouteCommand'], status: 'done' },
    { mode: 'replace' as const, code: 'InvalidRoute.NotFound', calls: ['ReplaceRouteCommand', 'CreateRouteCommand'], status: 'done' },
    { mode: 'create' as const, code: 'InvalidRoute.NotFound', calls: ['CreateRouteCommand'], status: 'failed' },
    { mode: 'replace' as const, code: 'RouteAlreadyExists', calls: ['ReplaceRouteCommand'], status: 'failed' },
  ])('a $mode answered with $code: $calls', async ({ mode, code, calls: expected, status }) => {
    let first = true;
    const { clients, calls, log } = recorder({
      fail: () => {
        if (!first) return undefined;
        first = false;
        return awsError(code, 'as told');
      },
    });
    const [result] = await act(clients, [route('rtb-1', 'i-b', undefined, mode)], { dryRun: false, log });
    expect(calls.map((c) => c.command)).toEqual(expected);
    expect(result?.status).toBe(status);
  });
});

describe('act(): what it logs', () => {
  it.each([
    { action: mark('i-a'), text: 'mark i-a Unhealthy in nat-asg', ids: { instanceId: 'i-a', groupName: 'nat-asg' } },
    { action: sdc('i-b'), text: 'turn off source/dest check on i-b', ids: { instanceId: 'i-b' } },
    {
      action: { kind: 'AssociateElasticIp', allocationId: 'eipalloc-1', instanceId: 'i-b', networkInterfaceId: 'eni-i-b', reason: 'test' } as Action,
      text: 'associate eipalloc-1 with i-b',
      ids: { instanceId: 'i-b', allocationId: 'eipalloc-1' },
    },
    {
      action: route('rtb-1', 'i-b', 'i-a', 'create'),
      text: 'create 0.0.0.0/0 in rtb-1 → i-b',
      ids: { instanceId: 'i-b', routeTableId: 'rtb-1', networkInterfaceId: 'eni-i-b', previousInstanceId: 'i-a' },
    },
    { action: route('rtb-1', 'i-b'), text: 'replace 0.0.0.0/0 in rtb-1 → i-b', ids: { instanceId: 'i-b', routeTableId: 'rtb-1', networkInterfaceId: 'eni-i-b' } },
    { action: hook('i-a', 'ABANDON'), text: 'complete natbeat-terminate for i-a with ABANDON', ids: { instanceId: 'i-a', groupName: 'nat-asg' } },
  ])('$text', async ({ action, text, ids }) => {
    expect(describe_(action)).toBe(text);
    expect(resourceIds(action)).toStrictEqual(ids);
    const logged: { message: string; extra: unknown }[] = [];
    const log: ActionLog = {
      debug: () => undefined,
      info: (message, extra) => logged.push({ message, extra }),
      warn: () => undefined,
      error: () => undefined,
    };
    await act(recorder().clients, [action], { dryRun: false, log });
    expect(logged).toEqual([{ message: text, extra: { action: action.kind, ...ids, reason: 'test' } }]);
  });
});

it('logs a failure with its error and a held-back action with what it waits for', async () => {
  const logged: unknown[] = [];
  const log: ActionLog = {
    debug: () => undefined,
    info: (message, extra) => logged.push({ message, extra }),
    warn: (message, extra) => logged.push({ message, extra }),
    error: (message, extra) => logged.push({ message, extra }),
  };
  await act(recorder({ fail: failRouteOf('rtb-1') }).clients, [route('rtb-1', 'i-b', 'i-a'), hook('i-a')], { dryRun: false, log });
  await act(recorder().clients, [route('rtb-2', 'i-b')], { dryRun: true, log });
  expect(logged).toEqual([
    { message: 'failed to replace 0.0.0.0/0 in rtb-1 → i-b', extra: { action: 'SetRoute', instanceId: 'i-b', routeTableId: 'rtb-1', networkInterfaceId: 'eni-i-b', previousInstanceId: 'i-a', error: 'UnauthorizedOperation: denied' } },
    { message: 'action skipped', extra: { action: 'CompleteLifecycle', instanceId: 'i-a', groupName: 'nat-asg', reason: 'waiting for replace 0.0.0.0/0 in rtb-1 → i-b' } },
    { message: 'dry run: would replace 0.0.0.0/0 in rtb-2 → i-b', extra: { action: 'SetRoute', instanceId: 'i-b', routeTableId: 'rtb-2', networkInterfaceId: 'eni-i-b', reason: 'test' } },
  ]);
});
