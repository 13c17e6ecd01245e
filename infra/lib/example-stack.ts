/**
 * Example: a common network (a /16 VPC with a public and a private subnet per AZ,
 * no NAT gateway) made highly available by natbeat.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { NatBeat, type NatBeatProps } from './natbeat';

export interface ExampleStackProps extends StackProps {
  /** Name of the VPC and prefix of natbeat's resources. @default 'natbeat' */
  readonly name?: string;
  /** First two octets of the VPC's /16, e.g. `10.0`. @default '10.0' */
  readonly cidrPrefix?: string;
  /** Availability Zones, one public and one private subnet (and one NAT) each. */
  readonly availabilityZones: string[];
  /** Existing EC2 key pair for the NATs. @default - none (Session Manager) */
  readonly keyPairName?: string;
  /** AMI override (Amazon Linux 2023 of the instance type's architecture). @default - latest AL2023 via SSM */
  readonly amiId?: string;
  /** NAT instance type. @default t4g.nano */
  readonly instanceType?: string;
  /** E-mail address for alarm notifications. @default - none */
  readonly alarmEmail?: string;
  /** Extra NatBeat props. */
  readonly natBeat?: Partial<Omit<NatBeatProps, 'vpc'>>;
}

/** Settings of the example app, read from CDK context (`-c natbeat:…=…` or cdk.json). */
export interface ExampleSettings {
  readonly stackName: string;
  readonly region: string;
  readonly props: ExampleStackProps;
}

const MAX_ZONES = 6;

/** Reads and validates the example's context; throws with the context key at fault. */
export function exampleSettingsFromContext(get: (key: string) => unknown, env: Record<string, string | undefined> = {}): ExampleSettings {
  const text = (key: string): string | undefined => {
    const value = get(`natbeat:${key}`);
    if (value === undefined || value === null || value === '') return undefined;
    return String(value);
  };
  const name = text('name') ?? 'natbeat';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,39}$/.test(name)) throw new Error(`natbeat:name must start with a letter and hold 1–40 letters, digits or - (got "${name}")`);
  const cidrPrefix = text('cidrPrefix') ?? '10.0';
  const octets = cidrPrefix.split('.');
  if (octets.length !== 2 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255)) {
    throw new Error(`natbeat:cidrPrefix must be the first two octets of the /16, e.g. 10.0 (got "${cidrPrefix}")`);
  }
  const region = text('region') ?? env.CDK_DEFAULT_REGION ?? 'us-east-1';
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`natbeat:region must be a Region name such as us-east-1 (got "${region}")`);
  const azCount = Number(text('azCount') ?? '3');
  if (!Number.isInteger(azCount) || azCount < 1 || azCount > MAX_ZONES) throw new Error(`natbeat:azCount must be a whole number from 1 to ${MAX_ZONES} (got "${text('azCount')}")`);
  const zonesText = text('availabilityZones');
  const zones = zonesText
    ? zonesText.split(',').map((z) => z.trim()).filter(Boolean)
    : ['a', 'b', 'c', 'd', 'e', 'f'].map((letter) => `${region}${letter}`);
  if (zones.length < azCount) throw new Error(`natbeat:availabilityZones lists ${zones.length} zones, fewer than natbeat:azCount (${azCount})`);
  for (const zone of zones) {
    if (!zone.startsWith(region)) throw new Error(`natbeat:availabilityZones entry "${zone}" is not in Region ${region}`);
  }
  const instanceType = text('instanceType');
  if (instanceType !== undefined && !/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/.test(instanceType)) {
    throw new Error(`natbeat:instanceType must be an EC2 instance type such as t4g.nano (got "${instanceType}")`);
  }
  const amiId = text('amiId');
  if (amiId !== undefined && !/^ami-[0-9a-f]{8,17}$/.test(amiId)) throw new Error(`natbeat:amiId must be an AMI id ami-… (got "${amiId}")`);
  return {
    stackName: name,
    region,
    props: {
      name,
      cidrPrefix,
      availabilityZones: zones.slice(0, azCount),
      keyPairName: text('keyPair'),
      amiId,
      instanceType,
      alarmEmail: text('alarmEmail'),
    },
  };
}

export class ExampleStack extends Stack {
  public readonly vpc: ec2.Vpc;
  public readonly natBeat: NatBeat;

  constructor(scope: Construct, id: string, props: ExampleStackProps) {
    super(scope, id, props);
    const name = props.name ?? 'natbeat';
    const cidrPrefix = props.cidrPrefix ?? '10.0';

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      vpcName: name,
      ipAddresses: ec2.IpAddresses.cidr(`${cidrPrefix}.0.0/16`),
      availabilityZones: props.availabilityZones,
      // No NAT gateway: natbeat's NAT instances are the egress path.
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        // Isolated: CDK gives these route tables no default route, so the only 0.0.0.0/0 they
        // ever get is the one natbeat's controller writes (CloudFormation never fights it).
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 },
      ],
      // The default security group is left unused; restricting it would add a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('RejectedFlows', {
      // Rejected traffic only: enough to debug security groups and NACLs at a fraction of the cost.
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
    });

    const instanceType = props.instanceType ? new ec2.InstanceType(props.instanceType) : undefined;
    const machineImage = props.amiId
      ? ec2.MachineImage.genericLinux({ [this.region]: props.amiId })
      : undefined;

    this.natBeat = new NatBeat(this, 'NatBeat', {
      ...props.natBeat,
      vpc: this.vpc,
      groupName: props.natBeat?.groupName ?? `${name}-nat`,
      instanceType: props.natBeat?.instanceType ?? instanceType,
      machineImage: props.natBeat?.machineImage ?? machineImage,
      keyPair: props.natBeat?.keyPair ?? (props.keyPairName ? ec2.KeyPair.fromKeyPairName(this, 'KeyPair', props.keyPairName) : undefined),
      alarmEmail: props.natBeat?.alarmEmail ?? props.alarmEmail,
    });

    new CfnOutput(this, 'VpcId', { value: this.vpc.vpcId });
    new CfnOutput(this, 'NatGroupName', { value: this.natBeat.groupName, description: 'Auto Scaling group of the NAT instances' });
    new CfnOutput(this, 'CliEnvironment', {
      value: [
        `NATBEAT_GROUP_NAMES=${this.natBeat.groupName}`,
        `NATBEAT_NAMESPACE=${this.natBeat.heartbeatNamespace}`,
        `NATBEAT_ROUTE_TABLE_TAG=${this.natBeat.routeTableTag.key}=${this.natBeat.routeTableTag.value}`,
      ].join(' '),
      description: 'Prefix `natbeat status` / `natbeat plan` with these to see what this deployment’s controller sees',
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.natBeat.alarmTopic.topicArn, description: 'Subscribe your pager here' });
    new CfnOutput(this, 'ReconcileFunctionName', {
      value: this.natBeat.reconcileFunction.functionName,
      description: 'Invoke with {"source":"natbeat","detail-type":"Reconcile Request"} to reconcile by hand',
    });
  }
}
