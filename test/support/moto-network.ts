/**
 * Building blocks of the moto test worlds: the network of a natbeat deployment (a VPC with a public
 * and a private subnet per AZ, a private route table per AZ tagged network=private), the NATs'
 * launch template, and heartbeats as the agent publishes them.
 */
import { PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateLaunchTemplateCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
} from '@aws-sdk/client-ec2';
import {
  HEARTBEAT_METRIC,
  DEFAULT_HEARTBEAT_NAMESPACE,
  HEARTBEAT_STORAGE_RESOLUTION,
  instanceDimensions,
  zoneDimensions,
} from '../../common/heartbeat';
import type { AwsClients } from '../../lambdas/core/clients';

export interface ZoneNetwork {
  az: string;
  publicSubnetId: string;
  privateSubnetId: string;
  routeTableId: string;
}

export interface NatNetwork {
  vpcId: string;
  zones: ZoneNetwork[];
  /** An AMI moto offers, for the NATs. */
  imageId: string;
}

/** The VPC of the example deployment in moto; public subnets route to an internet gateway. */
export async function createNatNetwork(clients: AwsClients, zones: readonly string[], namePrefix: string): Promise<NatNetwork> {
  const { ec2 } = clients;
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
  const publicTable = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
  await ec2.send(new CreateRouteCommand({ RouteTableId: publicTable, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
  const imageId = (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId;
  if (!imageId) throw new Error('moto offers no AMI to launch NATs from');

  const out: ZoneNetwork[] = [];
  for (const [i, az] of zones.entries()) {
    const subnet = async (cidr: string) =>
      (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: az }))).Subnet!.SubnetId!;
    const publicSubnetId = await subnet(`10.0.${i}.0/24`);
    const privateSubnetId = await subnet(`10.0.${10 + i}.0/24`);
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: publicTable, SubnetId: publicSubnetId }));
    const routeTableId = (
      await ec2.send(
        new CreateRouteTableCommand({
          VpcId: vpcId,
          TagSpecifications: [{ ResourceType: 'route-table', Tags: [{ Key: 'network', Value: 'private' }, { Key: 'Name', Value: `${namePrefix}-private-${az}` }] }],
        }),
      )
    ).RouteTable!.RouteTableId!;
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: routeTableId, SubnetId: privateSubnetId }));
    out.push({ az, publicSubnetId, privateSubnetId, routeTableId });
  }
  return { vpcId, zones: out, imageId };
}

export async function createNatLaunchTemplate(clients: AwsClients, name: string, imageId: string): Promise<void> {
  await clients.ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: { ImageId: imageId, InstanceType: 't4g.nano' } }));
}

export interface Beat {
  groupName: string;
  instanceId: string;
  /** Also publish the per-zone datum the alarms read, as the agent does. */
  availabilityZone?: string;
  at: Date;
  value: number;
}

/** Heartbeats as the agent publishes them (high resolution), in requests of at most 1000 datums. */
export async function putBeats(clients: AwsClients, beats: Beat[], namespace = DEFAULT_HEARTBEAT_NAMESPACE): Promise<void> {
  const data = beats.flatMap((beat) => {
    const dimensions = [instanceDimensions(beat.groupName, beat.instanceId)];
    if (beat.availabilityZone) dimensions.push(zoneDimensions(beat.groupName, beat.availabilityZone));
    return dimensions.map(
      (Dimensions): MetricDatum => ({
        MetricName: HEARTBEAT_METRIC,
        Dimensions,
        Timestamp: beat.at,
        Value: beat.value,
        StorageResolution: HEARTBEAT_STORAGE_RESOLUTION,
      }),
    );
  });
  for (let i = 0; i < data.length; i += 1000) {
    await clients.cloudWatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data.slice(i, i + 1000) }));
  }
}
