/**
 * Building blocks of the moto test worlds: the network of a natbeat deployment (a VPC with a public
 * and a private subnet per AZ, a private route table per AZ tagged network=private), the NATs'
 * launch template, and heartbeats as the intake records them.
 */
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
import { beatItem } from '../../common/report-store';
import type { AwsClients } from '../../lambdas/core/clients';
import { createReportTable, putReportItems } from './report-log';

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
  availabilityZone?: string;
  /** The intake's receive time. */
  at: Date;
  value: number;
}

/** The report table the moto worlds use unless a test names its own. */
export const MOTO_REPORT_TABLE = 'natbeat-reports';

/** Heartbeats as the intake records them in the report log (the table is created on first use). */
export async function putBeats(clients: AwsClients, beats: Beat[], table = MOTO_REPORT_TABLE): Promise<void> {
  await createReportTable(clients.dynamoDb, table).catch((error: unknown) => {
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
  });
  const items = beats.map((beat) =>
    beatItem(beat.instanceId, beat.at.getTime(), beat.value >= 1 ? 1 : 0, { groupName: beat.groupName, availabilityZone: beat.availabilityZone ?? 'unknown' }),
  );
  await putReportItems(clients.dynamoDb, table, items);
}
