import { afterEach, describe, expect, it } from 'vitest';
import { act } from '../../lambdas/core/act';
import type { ActionLog } from '../../lambdas/core/log';
import type { Action } from '../../lambdas/core/types';
import { mockFakeAws, plainClients } from '../support/aws-mock';
import { awsError } from '../support/fake-aws';
import { buildFleet } from '../support/fleet';

const NOW = new Date('2026-06-01T12:00:00Z');

function setup(routes: 'same-az' | 'none' = 'same-az') {
  const fleet = buildFleet({ now: NOW, groups: 1, nats: 3, routes });
  const mocks = mockFakeAws(fleet.fake);
  restorers.push(mocks.restore);
  const lines: string[] = [];
  const log: ActionLog = {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m, extra) => lines.push(`warn ${m} ${JSON.stringify(extra)}`),
    error: (m, extra) => lines.push(`error ${m} ${JSON.stringify(extra)}`),
  };
  const [a, b] = fleet.natIds as [string, string, string];
  const [tableA] = fleet.tablesByGroup.get(fleet.groupNames[0]!)! as [string];
  const eniOf = (id: string) => fleet.fake.nats.get(id)!.networkInterfaceId;
  const setRoute = (mode: 'create' | 'replace', to: string): Action => ({
    kind: 'SetRoute',
    routeTableId: tableA,
    mode,
    instanceId: to,
    networkInterfaceId: eniOf(to),
    reason: 'test',
  });
  return { fleet, fake: fleet.fake, log, lines, a, b, tableA, setRoute, run: (actions: Action[], dryRun = false) => act(plainClients(), actions, { dryRun, log }) };
}
const restorers: (() => void)[] = [];

describe('Function: act', () => {
  afterEach(() => restorers.splice(0).forEach((restore) => restore()));

  it('replaces the route when a create finds one already there (RouteAlreadyExists)', async () => {
    const { fake, run, setRoute, b, tableA } = setup('same-az');
    const [result] = await run([setRoute('create', b)]);
    expect(result?.status).toBe('done');
    expect(fake.commands()).toEqual(['CreateRouteCommand', 'ReplaceRouteCommand']);
    expect(fake.routeTargetOf(tableA)).toBe(b);
  });

  it('creates the route when a replace finds none (InvalidRoute.NotFound)', async () => {
    const { fake, run, setRoute, b, tableA } = setup('none');
    const [result] = await run([setRoute('replace', b)]);
    expect(result?.status).toBe('done');
    expect(fake.commands()).toEqual(['ReplaceRouteCommand', 'CreateRouteCommand']);
    expect(fake.routeTargetOf(tableA)).toBe(b);
  });

  it('reports any other route error as failed, without a fallback call', async () => {
    const { fake, run, setRoute, a, b, tableA, lines } = setup('same-az');
    fake.faults.push((call) => (call.command === 'ReplaceRouteCommand' ? awsError('UnauthorizedOperation', 'denied') : undefined));
    const [result] = await run([setRoute('replace', b)]);
    expect(result).toMatchObject({ status: 'failed', detail: 'UnauthorizedOperation: denied' });
    expect(fake.commands()).toEqual(['ReplaceRouteCommand']);
    expect(fake.routeTargetOf(tableA)).toBe(a);
    expect(lines.join('\n')).toMatch(/error failed to replace 0\.0\.0\.0\/0 in rtb-\S+ → i-\S+ .*UnauthorizedOperation/);
  });

  it('treats "No active Lifecycle Action found" as already completed, other validation errors as failures', async () => {
    const { run, a, b, fleet } = setup();
    const group = fleet.groupNames[0]!;
    const complete = (instanceId: string): Action => ({
      kind: 'CompleteLifecycle',
      groupName: group,
      hookName: 'natbeat-terminate',
      instanceId,
      result: 'CONTINUE',
      reason: 'test',
    });
    // a is InService: the fake answers like Auto Scaling does for a hook that is no longer waiting.
    fleet.fake.faults.push((call) =>
      call.command === 'CompleteLifecycleActionCommand' && call.input.InstanceId === b
        ? awsError('ValidationError', 'LifecycleActionResult must be CONTINUE or ABANDON')
        : undefined,
    );
    const results = await run([complete(a), complete(b)]);
    expect(results.map((r) => r.status)).toEqual(['done', 'failed']);
    expect(results[1]?.detail).toBe('ValidationError: LifecycleActionResult must be CONTINUE or ABANDON');
  });

  it('holds back routes and CONTINUE for a NAT whose source/dest check could not be turned off', async () => {
    const { fake, run, setRoute, b, fleet, lines } = setup();
    fake.faults.push((call) => (call.command === 'ModifyInstanceAttributeCommand' ? awsError('InvalidInstanceID.NotFound', 'gone') : undefined));
    const results = await run([
      { kind: 'CompleteLifecycle', groupName: fleet.groupNames[0]!, hookName: 'natbeat-launch', instanceId: b, result: 'CONTINUE', reason: 'proved' },
      setRoute('replace', b),
      { kind: 'DisableSourceDestCheck', instanceId: b, reason: 'nat' },
    ]);
    // Results come phase by phase: prepare, routes, lifecycle.
    expect(results.map((r) => `${r.action.kind}:${r.status}`)).toEqual(['DisableSourceDestCheck:failed', 'SetRoute:skipped', 'CompleteLifecycle:skipped']);
    expect(fake.commands()).toEqual(['ModifyInstanceAttributeCommand']);
    expect(lines.filter((l) => l.startsWith('warn action skipped'))).toHaveLength(2);
  });

  it('in dry run calls nothing and logs what it would do', async () => {
    const { fake, run, setRoute, b, lines } = setup();
    const results = await run([setRoute('replace', b)], true);
    expect(results.map((r) => r.status)).toEqual(['dry-run']);
    expect(fake.calls).toEqual([]);
    expect(lines).toEqual([expect.stringMatching(/^info dry run: would replace 0\.0\.0\.0\/0 in rtb-\S+ → i-/)]);
  });
});
