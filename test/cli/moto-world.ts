/**
 * A natbeat fleet in moto: one VPC, per AZ a public and a private subnet, private route tables
 * tagged network=private, one Auto Scaling group (tagged natbeat:managed=true) holding one NAT per
 * AZ, and heartbeats published the way the agent publishes them.
 * moto puts every ASG-launched instance in the first subnet, so the NATs are launched with
 * RunInstances in their own subnet and attached to the group.
 */
import {
  AttachInstancesCommand,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateRouteCommand,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { AwsClients } from '../../lambdas/core/clients';
import { createNatLaunchTemplate, createNatNetwork, putBeats } from '../support/moto-network';

export const MOTO_GROUP = 'natbeat-nat';
export const MOTO_AZS = ['us-east-1a', 'us-east-1b'] as const;

export interface MotoNat {
  instanceId: string;
  networkInterfaceId: string;
  availabilityZone: string;
}

export interface MotoFleet {
  vpcId: string;
  nats: MotoNat[];
  routeTables: { routeTableId: string; availabilityZone: string }[];
  imageId: string;
  publicSubnets: string[];
}

export async function createFleet(clients: AwsClients): Promise<MotoFleet> {
  const { ec2, autoScaling } = clients;
  const network = await createNatNetwork(clients, MOTO_AZS, MOTO_GROUP);
  const { vpcId, imageId } = network;
  const publicSubnets = network.zones.map((z) => z.publicSubnetId);
  const routeTables: MotoFleet['routeTables'] = network.zones.map((z) => ({ routeTableId: z.routeTableId, availabilityZone: z.az }));
  await createNatLaunchTemplate(clients, 'natbeat-nat', imageId);
  await autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: MOTO_GROUP,
      LaunchTemplate: { LaunchTemplateName: 'natbeat-nat', Version: '$Latest' },
      MinSize: 0,
      MaxSize: 4,
      DesiredCapacity: 0,
      HealthCheckGracePeriod: 0,
      VPCZoneIdentifier: publicSubnets.join(','),
      Tags: [{ Key: 'natbeat:managed', Value: 'true', PropagateAtLaunch: false }],
    }),
  );
  // moto turns a grace period of 0 into 300 on create (not on update). moto stamps instances with
  // the launch time "now", so any grace period would keep every NAT booting.
  await autoScaling.send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: MOTO_GROUP, HealthCheckGracePeriod: 0 }));
  const nats: MotoNat[] = [];
  for (const [i, az] of MOTO_AZS.entries()) {
    const nat = await launchInstance(clients, imageId, publicSubnets[i]!, az);
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: nat.instanceId, SourceDestCheck: { Value: false } }));
    nats.push(nat);
  }
  await autoScaling.send(new AttachInstancesCommand({ AutoScalingGroupName: MOTO_GROUP, InstanceIds: nats.map((n) => n.instanceId) }));
  for (const [i, table] of routeTables.entries()) {
    await ec2.send(
      new CreateRouteCommand({ RouteTableId: table.routeTableId, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: nats[i]!.networkInterfaceId }),
    );
  }
  return { vpcId, nats, routeTables, imageId, publicSubnets };
}

export async function launchInstance(clients: AwsClients, imageId: string, subnetId: string, availabilityZone: string): Promise<MotoNat> {
  const run = await clients.ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't4g.nano', MinCount: 1, MaxCount: 1, SubnetId: subnetId }));
  const instance = run.Instances![0]!;
  return { instanceId: instance.InstanceId!, networkInterfaceId: instance.NetworkInterfaces![0]!.NetworkInterfaceId!, availabilityZone };
}

/** Publishes `count` healthy heartbeats 10 s apart, the newest `newestAgoSeconds` ago, as the agent does. */
export async function publishHeartbeats(clients: AwsClients, nat: MotoNat, now: Date, newestAgoSeconds: number, count = 6, value = 1) {
  const beats = Array.from({ length: count }, (_, k) => ({
    groupName: MOTO_GROUP,
    instanceId: nat.instanceId,
    availabilityZone: nat.availabilityZone,
    at: new Date(now.getTime() - (newestAgoSeconds + (count - 1 - k) * 10) * 1000),
    value,
  }));
  await putBeats(clients, beats);
}

export async function routeTo(clients: AwsClients, routeTableId: string, networkInterfaceId: string) {
  await clients.ec2.send(new ReplaceRouteCommand({ RouteTableId: routeTableId, DestinationCidrBlock: '0.0.0.0/0', NetworkInterfaceId: networkInterfaceId }));
}

/** Points the table at a short-lived instance and terminates it, leaving its route behind. */
export async function blackhole(clients: AwsClients, fleet: MotoFleet, routeTableId: string, subnetIndex: number): Promise<string> {
  const doomed = await launchInstance(clients, fleet.imageId, fleet.publicSubnets[subnetIndex]!, MOTO_AZS[subnetIndex]!);
  await routeTo(clients, routeTableId, doomed.networkInterfaceId);
  await clients.ec2.send(new TerminateInstancesCommand({ InstanceIds: [doomed.instanceId] }));
  return doomed.instanceId;
}

export async function groupInstances(clients: AwsClients) {
  const out = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [MOTO_GROUP] }));
  return out.AutoScalingGroups?.[0]?.Instances ?? [];
}
