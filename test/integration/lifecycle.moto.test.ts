/**
 * The real lifecycle handler against moto: a replacement NAT launching into a zone gets its
 * source/dest check turned off and the zone's pinned Elastic IP at once, and the zone's route only
 * after its first healthy heartbeat — then its launch hook is completed.
 *
 * Two things moto cannot do are stood in for, and nothing else:
 *  - it never holds an instance in Pending:Wait: a middleware on the Auto Scaling client rewrites
 *    the LifecycleState of the launching instance to Pending:Wait in DescribeAutoScalingGroups /
 *    DescribeAutoScalingInstances output until its hook is completed;
 *  - it does not implement CompleteLifecycleAction (HTTP 500): the same middleware answers that one
 *    call (recording it) instead of sending it, like Auto Scaling would: done while the instance
 *    waits, "No active Lifecycle Action found" otherwise.
 */
import { randomUUID } from 'node:crypto';
import {
  TerminateInstanceInAutoScalingGroupCommand,
  type CompleteLifecycleActionCommandInput,
} from '@aws-sdk/client-auto-scaling';
import { AllocateAddressCommand, DescribeAddressesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AwsClients } from '../../lambdas/core/clients';
import { createReconcileHandler } from '../../lambdas/reconcile/handler';
import { recordCommands } from '../support/aws-mock';
import { awsError } from '../support/fake-aws';
import { motoClients, motoSkipReason, startMoto, type MotoServer } from '../support/moto';
import { lambdaContext, testRuntime } from '../support/runtime';
import { buildWorld, defaultRoutes, listNats, putHeartbeats, type MotoNat, type MotoWorld } from './moto-world';
import launch from '../fixtures/events/launch.json';
import scheduled from '../fixtures/events/scheduled.json';

/* eslint-disable @typescript-eslint/no-explicit-any -- middleware arguments are untyped */

const skip = motoSkipReason();

/** Stands in for the lifecycle hook moto lacks (see the file comment). */
function emulateLaunchHook(clients: AwsClients) {
  const waiting = new Set<string>();
  const completions: CompleteLifecycleActionCommandInput[] = [];
  clients.autoScaling.middlewareStack.add(
    (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
      if (context.commandName === 'CompleteLifecycleActionCommand') {
        const input = args.input as CompleteLifecycleActionCommandInput;
        completions.push(input);
        if (!input.InstanceId || !waiting.delete(input.InstanceId)) {
          throw awsError('ValidationError', `No active Lifecycle Action found with instance ID ${input.InstanceId}`);
        }
        return { output: { $metadata: { httpStatusCode: 200 } }, response: { statusCode: 200, headers: {} } };
      }
      const result = await next(args);
      const rewrite = (i: { InstanceId?: string; LifecycleState?: string }) => {
        if (i.InstanceId && waiting.has(i.InstanceId)) i.LifecycleState = 'Pending:Wait';
      };
      if (context.commandName === 'DescribeAutoScalingGroupsCommand') {
        for (const g of result.output.AutoScalingGroups ?? []) (g.Instances ?? []).forEach(rewrite);
      }
      if (context.commandName === 'DescribeAutoScalingInstancesCommand') (result.output.AutoScalingInstances ?? []).forEach(rewrite);
      return result;
    },
    { step: 'initialize', name: 'natbeatLaunchHookEmulation' },
  );
  return { waiting, completions };
}

describe.skipIf(skip !== undefined)('Integration: lifecycle handler against moto', () => {
  let moto: MotoServer;

  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    await moto?.stop();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('turns off source/dest check and pins the EIP at launch, routes after the first heartbeat, then CONTINUE', async () => {
    await moto.reset();
    const clients = motoClients(moto.endpoint);
    const allocationId = (await clients.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
    const world: MotoWorld = await buildWorld(clients, {
      prefix: `lc-${randomUUID().slice(0, 8)}`,
      groupTags: (zone): Record<string, string> => (zone.az === 'us-east-1a' ? { 'natbeat:eip:us-east-1a': allocationId } : {}),
    });
    const commands = recordCommands(clients);
    const hook = emulateLaunchHook(clients);
    const [zoneA] = world.zones as [MotoWorld['zones'][number]];
    const [natA, natB, natC] = (await listNats(clients, world)) as [MotoNat, MotoNat, MotoNat];

    // A virtual clock from the NATs' launch (moto stamps it with the wall clock; it accepts
    // heartbeats at any time).
    const launched = (await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [natA.instanceId] }))).Reservations![0]!.Instances![0]!.LaunchTime!;
    const at = (seconds: number) => new Date(launched.getTime() + seconds * 1000);
    const runtimeAt = (seconds: number) => testRuntime({ clients: () => clients, now: at(seconds), config: { graceSeconds: 0 } });
    const reconcileAt = (seconds: number) => createReconcileHandler(runtimeAt(seconds).runtime)(scheduled, lambdaContext);

    // t=60: all three beat; routes to each zone's own NAT. t=120: the us-east-1a NAT is silent.
    await putHeartbeats(clients, [natA, natB, natC], at(8), at(58));
    expect((await reconcileAt(60)).status).toBe('reconciled');
    await putHeartbeats(clients, [natB, natC], at(68), at(118));
    expect((await reconcileAt(120)).status).toBe('reconciled');
    expect((await defaultRoutes(clients, world))[zoneA.routeTableId]).toBe(natB.networkInterfaceId);

    // Auto Scaling replaces it: a new NAT in us-east-1a, held in Pending:Wait by its launch hook.
    await clients.autoScaling.send(new TerminateInstanceInAutoScalingGroupCommand({ InstanceId: natA.instanceId, ShouldDecrementDesiredCapacity: false }));
    const fresh = (await listNats(clients, world)).find((n) => n.az === 'us-east-1a')!;
    expect(fresh.instanceId).not.toBe(natA.instanceId);
    hook.waiting.add(fresh.instanceId);
    const event = { ...launch, detail: { ...launch.detail, AutoScalingGroupName: fresh.groupName, EC2InstanceId: fresh.instanceId } };
    const lifecycleAt = (seconds: number) => createReconcileHandler(runtimeAt(seconds).runtime)(event, lambdaContext);

    // t=130, no heartbeat yet: prepared, but no route and the hook stays open.
    await putHeartbeats(clients, [natB, natC], at(123), at(128));
    const early = await lifecycleAt(130);
    expect(early.status).toBe('waiting');
    const instance = (await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [fresh.instanceId] }))).Reservations![0]!.Instances![0]!;
    expect(instance.SourceDestCheck).toBe(false);
    const address = (await clients.ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }))).Addresses![0]!;
    expect(address.NetworkInterfaceId).toBe(fresh.networkInterfaceId);
    expect((await defaultRoutes(clients, world))[zoneA.routeTableId]).toBe(natB.networkInterfaceId);
    expect(hook.completions).toEqual([]);

    // t=140, its first healthy heartbeat: the zone's route moves to it, then the hook completes.
    await putHeartbeats(clients, [natB, natC], at(133), at(138));
    await putHeartbeats(clients, [fresh], at(138), at(138));
    commands.length = 0;
    const proved = await lifecycleAt(140);
    expect(proved.status).toBe('handled');
    expect((await defaultRoutes(clients, world))[zoneA.routeTableId]).toBe(fresh.networkInterfaceId);
    expect(hook.completions).toEqual([
      { AutoScalingGroupName: fresh.groupName, LifecycleHookName: 'natbeat-launch', InstanceId: fresh.instanceId, LifecycleActionResult: 'CONTINUE' },
    ]);
    const routeWrite = commands.findIndex((c) => c === 'ReplaceRouteCommand');
    expect(routeWrite).toBeGreaterThanOrEqual(0);
    expect(commands.indexOf('CompleteLifecycleActionCommand')).toBeGreaterThan(routeWrite);
    // The other zones were not touched.
    const routes = await defaultRoutes(clients, world);
    expect(world.zones.slice(1).map((z) => routes[z.routeTableId])).toEqual([natB.networkInterfaceId, natC.networkInterfaceId]);
  });
});
