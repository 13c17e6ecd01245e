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
import { lambdaContext, testRuntime } from '../support/runtime';
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
    expect(again.commands).toEqual(expect.arrayContaining(['DescribeAutoScalingGroupsCommand', 'DescribeRouteTablesCommand', 'GetMetricDataCommand']));
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
});
