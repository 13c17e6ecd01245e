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
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  AssociateRouteTableCommand,
  CreateLaunchTemplateCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { HEARTBEAT_METRIC, HEARTBEAT_NAMESPACE, HEARTBEAT_STORAGE_RESOLUTION, instanceDimensions, zoneDimensions } from '../../common/heartbeat';
import type { AwsClients } from '../../lambdas/core/clients';

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
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const imageId = (await ec2.send(new DescribeImagesCommand({}))).Images![0]!.ImageId!;
  const publicSubnets: string[] = [];
  const routeTables: MotoFleet['routeTables'] = [];
  for (const [i, az] of MOTO_AZS.entries()) {
    const pub = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${i}.0/24`, AvailabilityZone: az }));
    publicSubnets.push(pub.Subnet!.SubnetId!);
    const priv = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${10 + i}.0/24`, AvailabilityZone: az }));
    const table = await ec2.send(
      new CreateRouteTableCommand({
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'route-table', Tags: [{ Key: 'network', Value: 'private' }, { Key: 'Name', Value: `private-${az}` }] }],
      }),
    );
    const routeTableId = table.RouteTable!.RouteTableId!;
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: routeTableId, SubnetId: priv.Subnet!.SubnetId! }));
    routeTables.push({ routeTableId, availabilityZone: az });
  }
  await ec2.send(
    new CreateLaunchTemplateCommand({ LaunchTemplateName: 'natbeat-nat', LaunchTemplateData: { ImageId: imageId, InstanceType: 't4g.nano' } }),
  );
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
  for (let k = count - 1; k >= 0; k--) {
    const timestamp = new Date(now.getTime() - (newestAgoSeconds + k * 10) * 1000);
    await clients.cloudWatch.send(
      new PutMetricDataCommand({
        Namespace: HEARTBEAT_NAMESPACE,
        MetricData: [instanceDimensions(MOTO_GROUP, nat.instanceId), zoneDimensions(MOTO_GROUP, nat.availabilityZone)].map((Dimensions) => ({
          MetricName: HEARTBEAT_METRIC,
          Dimensions,
          Value: value,
          Unit: 'Count',
          Timestamp: timestamp,
          StorageResolution: HEARTBEAT_STORAGE_RESOLUTION,
        })),
      }),
    );
  }
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
