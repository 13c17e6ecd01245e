/**
 * The real reconcile handler against moto: initial routes, failover of a NAT that stopped
 * heartbeating, and a repeated run that changes nothing. Everything is read back from moto.
 */
import { randomUUID } from 'node:crypto';
import { DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AwsClients } from '../../lambdas/core/clients';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { MUTATING_COMMANDS } from '../support/fake-aws';
import { recordCommands } from '../support/aws-mock';
import { motoClients, motoSkipReason, startMoto, type MotoServer } from '../support/moto';
import { lambdaContext, TEST_REPORT_TABLE, testRuntime } from '../support/runtime';
import { putReportItems } from '../support/report-log';
import { witnessItem } from '../../common/report-store';
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import { decide } from '../../lambdas/core/decide';
import { observe } from '../../lambdas/core/observe';
import { buildWorld, defaultRoutes, listNats, putHeartbeats, wholeSecond, type MotoNat, type MotoWorld } from './moto-world';
import scheduled from '../fixtures/events/scheduled.json';

const skip = motoSkipReason();

describe.skipIf(skip !== undefined)('Integration: reconcile handler against moto', () => {
  let moto: MotoServer;
  let clients: AwsClients;
  let commands: string[];
  let world: MotoWorld;
  let nats: MotoNat[];

  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  beforeEach(async () => {
    await moto.reset();
    clients = motoClients(moto.endpoint);
    world = await buildWorld(clients, { prefix: `rc-${randomUUID().slice(0, 8)}` });
    nats = await listNats(clients, world);
    commands = recordCommands(clients);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** One reconcile at `now`, as the schedule would run it. graceSeconds 0: moto launched the NATs just now. */
  async function reconcileAt(now: Date) {
    commands.length = 0;
    const t = testRuntime({ clients: () => clients, now, config: { graceSeconds: 0 } });
    const response = await createReconcileHandler(t.runtime)(scheduled, lambdaContext);
    return { response, commands: [...commands], mutations: commands.filter((c) => MUTATING_COMMANDS.has(c)), ...t };
  }

  it('has one NAT per AZ, each in its own zone, with no grace period', async () => {
    expect(nats.map((n) => n.az)).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c']);
    const groups = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: world.zones.map((z) => z.groupName) }));
    expect(groups.AutoScalingGroups?.map((g) => g.HealthCheckGracePeriod)).toEqual([0, 0, 0]);
    expect(nats.every((n) => n.networkInterfaceId.startsWith('eni-'))).toBe(true);
  });

  it('creates each private table’s default route to its own AZ’s NAT, then changes nothing on a repeat run', async () => {
    // Heartbeats for the last minute, ending 2 s before the controller looks (timestamps in the past).
    const now = wholeSecond(Date.now());
    await putHeartbeats(clients, nats, new Date(now.getTime() - 62_000), new Date(now.getTime() - 2_000));
    expect(Object.values(await defaultRoutes(clients, world))).toEqual([undefined, undefined, undefined]);

    const first = await reconcileAt(now);
    expect(first.response.status).toBe('reconciled');
    expect(first.mutations.sort()).toEqual([...Array(3).fill('CreateRouteCommand'), ...Array(3).fill('ModifyInstanceAttributeCommand')]);
    const routes = await defaultRoutes(clients, world);
    for (const [i, zone] of world.zones.entries()) expect(routes[zone.routeTableId]).toBe(nats[i]!.networkInterfaceId);
    const described = await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: nats.map((n) => n.instanceId) }));
    expect(described.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.SourceDestCheck)).toEqual([false, false, false]);

    const again = await reconcileAt(new Date(now.getTime() + 1000));
    expect(again.response).toEqual({ status: 'reconciled', actions: [] });
    expect(again.mutations).toEqual([]);
    expect(again.commands).toEqual(expect.arrayContaining(['DescribeAutoScalingGroupsCommand', 'DescribeRouteTablesCommand', 'QueryCommand']));
    expect(await defaultRoutes(clients, world)).toEqual(routes);
  });

  it('marks a NAT that stopped heartbeating Unhealthy and hands its zone to a healthy peer', async () => {
    // Two minutes ago all three beat and the routes were set; since then the us-east-1a NAT is silent.
    const now = wholeSecond(Date.now());
    const before = new Date(now.getTime() - 120_000);
    await putHeartbeats(clients, nats, new Date(before.getTime() - 60_000), new Date(before.getTime() - 2_000));
    expect((await reconcileAt(before)).mutations.filter((m) => m === 'CreateRouteCommand')).toHaveLength(3);
    const [dead, ...alive] = nats as [MotoNat, MotoNat, MotoNat];
    await putHeartbeats(clients, alive, new Date(before.getTime() + 8_000), new Date(now.getTime() - 2_000));

    const run = await reconcileAt(now);
    expect(run.response.status).toBe('reconciled');
    expect(run.mutations).toEqual(['ReplaceRouteCommand', 'SetInstanceHealthCommand']);

    const health = await clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: nats.map((n) => n.instanceId) }));
    expect(Object.fromEntries((health.AutoScalingInstances ?? []).map((i) => [i.InstanceId, i.HealthStatus]))).toEqual({
      [dead.instanceId]: 'Unhealthy',
      [alive[0].instanceId]: 'Healthy',
      [alive[1].instanceId]: 'Healthy',
    });
    const routes = await defaultRoutes(clients, world);
    const [zoneA, zoneB, zoneC] = world.zones as [MotoWorld['zones'][number], MotoWorld['zones'][number], MotoWorld['zones'][number]];
    // Both peers carry one table; ties go to the first AZ in order, so us-east-1b takes over.
    expect(routes[zoneA.routeTableId]).toBe(alive[0].networkInterfaceId);
    expect(routes[zoneB.routeTableId]).toBe(alive[0].networkInterfaceId);
    expect(routes[zoneC.routeTableId]).toBe(alive[1].networkInterfaceId);
    expect(run.text()).toMatch(new RegExp(`NAT silent.*${dead.instanceId}`));
  });

  it('reads the report log as the intake writes it: beats, a failing self-report and witness items, each moving only what it may', async () => {
    // Routes set a minute ago; every NAT beats every 10 s until 2 s ago, except as below.
    const now = wholeSecond(Date.now());
    const before = new Date(now.getTime() - 60_000);
    await putHeartbeats(clients, nats, new Date(before.getTime() - 60_000), new Date(before.getTime() - 2_000));
    expect((await reconcileAt(before)).mutations.filter((m) => m === 'CreateRouteCommand')).toHaveLength(3);
    const [a, b, c] = nats as [MotoNat, MotoNat, MotoNat];
    // a: its last beat is not overdue yet (a period and the slack not passed) and c names it: still healthy.
    // b: overdue by 1 s, and a named it since: unreachable, its table moves.
    // c: reported its own failure 1 s ago (a `0`): failing, its table moves.
    const overdueMs = (DEFAULT_CONFIG.heartbeatPeriodSeconds + DEFAULT_CONFIG.heartbeatSlackSeconds) * 1000;
    await putHeartbeats(clients, [a], new Date(before.getTime() + 8_000), new Date(now.getTime() - overdueMs + 4_000));
    await putHeartbeats(clients, [b], new Date(before.getTime() + 8_000), new Date(now.getTime() - overdueMs - 1_000));
    await putHeartbeats(clients, [c], new Date(before.getTime() + 8_000), new Date(now.getTime() - 2_000));
    await putHeartbeats(clients, [c], new Date(now.getTime() - 1_000), new Date(now.getTime() - 1_000), 0);
    await putReportItems(clients.dynamoDb, TEST_REPORT_TABLE, [witnessItem(a.instanceId, c.instanceId, now.getTime() - 3_000), witnessItem(b.instanceId, a.instanceId, now.getTime() - 5_000)]);

    const snapshot = await observe(clients, { ...DEFAULT_CONFIG, reportTable: TEST_REPORT_TABLE }, now);
    expect(snapshot.heartbeatsObserved).toBe(true);
    expect(snapshot.heartbeats.get(c.instanceId)?.at(-1)).toEqual({ at: new Date(now.getTime() - 1_000), value: 0 });
    expect(snapshot.heartbeats.get(b.instanceId)?.at(-1)).toEqual({ at: new Date(now.getTime() - overdueMs - 1_000), value: 1 });
    // Witness items are read for the overdue NAT only: what is said of a NAT on time changes nothing.
    expect(Object.fromEntries(snapshot.witnesses ?? [])).toEqual({ [b.instanceId]: [{ witnessId: a.instanceId, at: new Date(now.getTime() - 5_000) }] });

    const run = await reconcileAt(now);
    expect(run.mutations).toEqual(['ReplaceRouteCommand', 'ReplaceRouteCommand']);
    const verdicts = Object.fromEntries(decide(snapshot, { ...DEFAULT_CONFIG, graceSeconds: 0 }, now).nats.map((n) => [n.instanceId, n.verdict]));
    expect(verdicts).toEqual({ [a.instanceId]: 'healthy', [b.instanceId]: 'unreachable', [c.instanceId]: 'failing' });
    const routes = await defaultRoutes(clients, world);
    const [zoneA, zoneB, zoneC] = world.zones as [MotoWorld['zones'][number], MotoWorld['zones'][number], MotoWorld['zones'][number]];
    expect(routes[zoneA.routeTableId]).toBe(a.networkInterfaceId);
    // b's table avoids its witness a where it can: but c is failing, so a is the only NAT left.
    expect(routes[zoneB.routeTableId]).toBe(a.networkInterfaceId);
    expect(routes[zoneC.routeTableId]).toBe(a.networkInterfaceId);
  });
});
