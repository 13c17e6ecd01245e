/**
 * Two deployments in one VPC of one moto world, each controller configured exactly as its
 * construct renders it (resolveSettings → controllerEnvironment → loadConfig), and a third private
 * table that belongs to neither (tagged with the old generic `network=private`). Each controller
 * routes, prepares and marks only its own tables and NATs — also when the other one's NAT dies
 * and its own NAT would be a healthy candidate in the same VPC.
 */
import { randomUUID } from 'node:crypto';
import { CreateAutoScalingGroupCommand, DescribeAutoScalingInstancesCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { CreateTagsCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { controllerEnvironment } from '../../infra/lib/controller';
import { resolveSettings } from '../../infra/lib/settings';
import { DEFAULT_CONFIG, ENV, loadConfig } from '../../lambdas/core/config';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { MUTATING_COMMANDS } from '../support/fake-aws';
import { recordCommands } from '../support/aws-mock';
import { motoClients, motoSkipReason, startMoto, type MotoServer } from '../support/moto';
import { createNatLaunchTemplate, createNatNetwork } from '../support/moto-network';
import { lambdaContext, testRuntime } from '../support/runtime';
import { defaultRoutes, listNats, putHeartbeats, wholeSecond, ZONES, type MotoNat, type MotoWorld } from './moto-world';
import scheduled from '../fixtures/events/scheduled.json';

const skip = motoSkipReason();

describe.skipIf(skip !== undefined)('Integration: two deployments in one VPC of one moto world', () => {
  let moto: MotoServer;
  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await moto?.stop();
  });

  it('each controller routes, prepares and marks only its own tables and NATs, and leaves a foreign table alone', async () => {
    await moto.reset();
    const setup = motoClients(moto.endpoint);
    const prefix = `iso-${randomUUID().slice(0, 8)}`;
    const network = await createNatNetwork(setup, ZONES, prefix);
    const launchTemplateName = `${prefix}-nat`;
    await createNatLaunchTemplate(setup, launchTemplateName, network.imageId);
    const [zoneA, zoneB, foreign] = network.zones as [MotoWorld['zones'][number], MotoWorld['zones'][number], MotoWorld['zones'][number]];

    // What two constructs would render for groups <prefix>-a and <prefix>-b in this VPC.
    const stack = new Stack(new App(), 'Render');
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: network.vpcId, availabilityZones: [...ZONES] });
    const deploy = async (name: string, zone: MotoWorld['zones'][number]) => {
      const settings = resolveSettings(stack, { vpc, groupName: name });
      // The construct passes its report table's name as a deploy-time token: each deployment has its own.
      const config = loadConfig({ ...controllerEnvironment(settings, false), [ENV.reportTable]: `${name}-reports` });
      // As the construct does: its tag on its private table, its group of NATs tagged as managed.
      await setup.ec2.send(new CreateTagsCommand({ Resources: [zone.routeTableId], Tags: [{ Key: settings.routeTableTag.key, Value: settings.routeTableTag.value }] }));
      await setup.autoScaling.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: name,
          MinSize: 1,
          MaxSize: 1,
          DesiredCapacity: 1,
          VPCZoneIdentifier: zone.publicSubnetId,
          LaunchTemplate: { LaunchTemplateName: launchTemplateName },
          Tags: [{ Key: DEFAULT_CONFIG.groupTagKey, Value: 'true', ResourceId: name, ResourceType: 'auto-scaling-group', PropagateAtLaunch: false }],
        }),
      );
      await setup.autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: name, HealthCheckGracePeriod: 0 }));
      const world: MotoWorld = { vpcId: network.vpcId, launchTemplateName, zones: [{ ...zone, groupName: name }] };
      const clients = motoClients(moto.endpoint);
      const commands = recordCommands(clients);
      const [nat] = (await listNats(setup, world)) as [MotoNat];
      return { name, settings, config, world, clients, commands, nat };
    };
    const a = await deploy(`${prefix}-a`, zoneA);
    const b = await deploy(`${prefix}-b`, zoneB);
    expect(a.config.routeTableTag).not.toEqual(b.config.routeTableTag);
    expect(a.config.reportTable).not.toBe(b.config.reportTable);

    const everyTable: MotoWorld = { vpcId: network.vpcId, launchTemplateName, zones: [zoneA, zoneB, foreign].map((z) => ({ ...z, groupName: '' })) };
    const routes = async () => {
      const all = await defaultRoutes(setup, everyTable);
      return { a: all[zoneA.routeTableId], b: all[zoneB.routeTableId], foreign: all[foreign.routeTableId] };
    };
    const sourceDestCheck = async () => {
      const described = await setup.ec2.send(new DescribeInstancesCommand({ InstanceIds: [a.nat.instanceId, b.nat.instanceId] }));
      const byId = new Map(described.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId, i.SourceDestCheck]));
      return { a: byId.get(a.nat.instanceId), b: byId.get(b.nat.instanceId) };
    };
    const reconcile = async (d: typeof a, now: Date) => {
      d.commands.length = 0;
      const t = testRuntime({ clients: () => d.clients, now, config: { ...d.config, graceSeconds: 0 } });
      await createReconcileHandler(t.runtime)(scheduled, lambdaContext);
      return d.commands.filter((c) => MUTATING_COMMANDS.has(c));
    };
    const beat = (d: typeof a, from: Date, to: Date) => putHeartbeats(setup, [d.nat], from, to, 1, d.config.reportTable);

    // Both NATs healthy for the last minute.
    const now = wholeSecond(Date.now());
    const minuteAgo = new Date(now.getTime() - 62_000);
    await beat(a, minuteAgo, new Date(now.getTime() - 2_000));
    await beat(b, minuteAgo, new Date(now.getTime() - 2_000));

    expect((await reconcile(a, now)).sort()).toEqual(['CreateRouteCommand', 'ModifyInstanceAttributeCommand']);
    expect(await routes()).toEqual({ a: a.nat.networkInterfaceId, b: undefined, foreign: undefined });
    expect(await sourceDestCheck()).toEqual({ a: false, b: true });

    expect((await reconcile(b, now)).sort()).toEqual(['CreateRouteCommand', 'ModifyInstanceAttributeCommand']);
    expect(await routes()).toEqual({ a: a.nat.networkInterfaceId, b: b.nat.networkInterfaceId, foreign: undefined });
    expect(await sourceDestCheck()).toEqual({ a: false, b: false });

    // Two minutes later A's NAT has been silent since; B's is healthy in the same VPC. A has no
    // NAT left to move its table to, and B must not take a table that is not its own.
    const later = new Date(now.getTime() + 120_000);
    await beat(b, new Date(now.getTime() + 8_000), new Date(later.getTime() - 2_000));
    expect(await reconcile(b, later)).toEqual([]);
    expect(await reconcile(a, later)).toEqual(['SetInstanceHealthCommand']);
    expect(await routes()).toEqual({ a: a.nat.networkInterfaceId, b: b.nat.networkInterfaceId, foreign: undefined });
    const health = await setup.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [a.nat.instanceId, b.nat.instanceId] }));
    expect(Object.fromEntries((health.AutoScalingInstances ?? []).map((i) => [i.InstanceId, i.HealthStatus]))).toEqual({
      [a.nat.instanceId]: 'Unhealthy',
      [b.nat.instanceId]: 'Healthy',
    });
  });
});
