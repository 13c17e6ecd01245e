/**
 * The NATs: their security group and instance role, the agent each one installs from user data,
 * and the Auto Scaling group (one NAT per Availability Zone) whose lifecycle hooks hold a new NAT
 * until it has proved it routes.
 */
import { Aws, Duration, Tags, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import { FLAGS as AGENT_FLAGS } from '../../agent/config';
import { HANDOVER_TUNNEL_PORT } from '../../common/handover';
import { DEFAULT_PEER_PORT } from '../../common/intake-contract';
import { AGENT_BUNDLE_FILE, AGENT_INSTALL_FILE, AgentAsset } from './agent-asset';
import type { CodeSource } from './bundles';
import { GROUP_TAG_KEY, MANAGED_TAG_VALUE, type NatBeatProps, type Settings } from './settings';

export interface NatGroupProps {
  readonly vpc: ec2.IVpc;
  /** One subnet per zone. */
  readonly natSubnets: ec2.ISubnet[];
  /** Ranges the NATs forward for (security group ingress, agent masquerade). */
  readonly allowedCidrs: string[];
  readonly settings: Settings;
  /** Where the agent package comes from. */
  readonly code: CodeSource;
  /** The intake's Function URL the agent reports its own failures to (a token: the intake is created later). */
  readonly reportUrl: string;
  readonly instanceType?: NatBeatProps['instanceType'];
  readonly machineImage?: NatBeatProps['machineImage'];
  readonly keyPair?: NatBeatProps['keyPair'];
  readonly probeTargets?: NatBeatProps['probeTargets'];
  /** Grant the Session Manager permissions (off: none of Systems Manager). */
  readonly sessionManager?: boolean;
}

export interface NatGroup {
  readonly securityGroup: ec2.SecurityGroup;
  readonly instanceRole: iam.Role;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
}

/** The group's maximum size: room for launch-before-terminate replacement in every zone. */
export function maxNats(zoneCount: number): number {
  return zoneCount * 2;
}

/** Creates the NATs' security group, role, launch template and Auto Scaling group in `scope`. */
export function createNatGroup(scope: Construct, props: NatGroupProps): NatGroup {
  const { settings } = props;
  const zoneCount = props.natSubnets.length;
  const securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: props.vpc,
    description: 'natbeat NAT instances: traffic from the VPC to forward; no SSH from outside',
    allowAllOutbound: true,
  });
  if (settings.handoverDrainSeconds > 0) {
    // VXLAN carries flows handed back to the NAT they left; only the deployment's own NATs may send
    // it, so the private ranges get every port but that one (TCP, UDP, ICMP: what a NAT forwards).
    const ports = [ec2.Port.allTcp(), ec2.Port.udpRange(0, HANDOVER_TUNNEL_PORT - 1), ec2.Port.udpRange(HANDOVER_TUNNEL_PORT + 1, 65535), ec2.Port.allIcmp()];
    props.allowedCidrs.forEach((cidr) => {
      for (const port of ports) securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), port, 'Traffic to forward from the private ranges');
    });
    securityGroup.addIngressRule(securityGroup, ec2.Port.udp(HANDOVER_TUNNEL_PORT), 'VXLAN: flows handed back by the deployment\'s own NATs');
  } else {
    props.allowedCidrs.forEach((cidr) => {
      securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.allTraffic(), 'Traffic to forward from the private ranges');
    });
  }
  // Peer witnesses: each NAT's agent probes the others' responders (agent --peer-port). The private
  // ranges' rules above may already cover the port; this one holds when allowedCidrs leaves out the
  // NATs' own subnets. It is not carved out of those rules: a security group filters forwarded
  // packets by port too, so that would also stop the private hosts' own UDP to 4799 anywhere, while
  // the responder gives a private host nothing (an answer no larger than its request, to itself).
  securityGroup.addIngressRule(securityGroup, ec2.Port.udp(DEFAULT_PEER_PORT), "Peer witness probes between the deployment's own NATs");
  Validations.of(securityGroup).acknowledge({
    id: 'AwsSolutions-EC23',
    reason: 'Ingress is only from the VPC CIDR block or from allowedCidrs, which the construct rejects unless they are private ranges (or allowNonPrivateCidrs is set); cdk-nag cannot evaluate the default because it is a CloudFormation reference (GetAtt of the VPC), so the rule errors instead of passing.',
  });

  const instanceRole = createInstanceRole(scope, props.sessionManager ?? false);
  const agentAsset = new AgentAsset(scope, 'AgentPackage', { source: props.code });
  // The one object user data downloads, rather than asset.grantRead's bucket-wide List*/Get*.
  instanceRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'ReadAgentPackage',
      actions: ['s3:GetObject'],
      resources: [agentAsset.bucket.arnForObjects(agentAsset.s3ObjectKey)],
    }),
  );

  const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO);
  // The public parameter of AWS's default AL2023 kernel, resolved at each deploy (a new AMI rolls
  // the group). MachineImage.latestAmazonLinux2023 would pin the kernel-6.1 parameter instead.
  const machineImage =
    props.machineImage ??
    new ec2.AmazonLinux2023ImageSsmParameter({
      kernel: ec2.AmazonLinux2023Kernel.DEFAULT,
      cachedInContext: false,
      cpuType: instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64,
    });

  const launchTemplate = new ec2.LaunchTemplate(scope, 'LaunchTemplate', {
    instanceType,
    machineImage,
    userData: agentUserData(agentAsset, props),
    role: instanceRole,
    securityGroup,
    keyPair: props.keyPair,
    requireImdsv2: true,
    // One hop: the metadata token cannot be fetched through a forwarded hop (a container, or a
    // host behind the NAT reaching 169.254.169.254 through it).
    httpPutResponseHopLimit: 1,
    instanceMetadataTags: true,
    associatePublicIpAddress: true,
    blockDevices: [
      {
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
      },
    ],
  });
  // The ENIs carry the group's name so AssociateAddress can be scoped to them.
  const cfnTemplate = launchTemplate.node.defaultChild as ec2.CfnLaunchTemplate;
  cfnTemplate.addPropertyOverride('LaunchTemplateData.TagSpecifications', [
    { ResourceType: 'instance', Tags: [{ Key: GROUP_TAG_KEY, Value: settings.groupName }] },
    { ResourceType: 'network-interface', Tags: [{ Key: GROUP_TAG_KEY, Value: settings.groupName }] },
    { ResourceType: 'volume', Tags: [{ Key: GROUP_TAG_KEY, Value: settings.groupName }] },
  ]);

  const autoScalingGroup = new autoscaling.AutoScalingGroup(scope, 'Group', {
    vpc: props.vpc,
    vpcSubnets: { subnets: props.natSubnets },
    launchTemplate,
    autoScalingGroupName: settings.groupName,
    // No desiredCapacity: it starts at minCapacity and a deploy never resets it mid-replacement.
    minCapacity: zoneCount,
    // Room for launch-before-terminate replacement and rolling updates; AZ balancing keeps one per zone.
    maxCapacity: maxNats(zoneCount),
    maxInstanceLifetime: settings.maxInstanceLifetime,
    healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.seconds(settings.graceSeconds) }),
    // A replacement NAT launches, proves it routes, takes the routes, and only then the old one goes.
    minHealthyPercentage: 100,
    maxHealthyPercentage: 200,
    updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: zoneCount }),
    groupMetrics: [autoscaling.GroupMetrics.all()],
  });
  // A NAT downloads and installs its agent at boot: its subnet's route to the internet comes first.
  for (const subnet of props.natSubnets) autoScalingGroup.node.addDependency(subnet.internetConnectivityEstablished);
  Tags.of(autoScalingGroup).add(DEFAULT_CONFIG.groupTagKey, MANAGED_TAG_VALUE, { applyToLaunchedInstances: true });
  // Hooks are part of the group itself, so the very first NATs already wait for their proof.
  const cfnGroup = autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
  cfnGroup.lifecycleHookSpecificationList = [
    {
      lifecycleHookName: DEFAULT_CONFIG.launchHookName,
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
      heartbeatTimeout: settings.launchHookSeconds,
      defaultResult: 'ABANDON',
    },
    {
      lifecycleHookName: DEFAULT_CONFIG.terminateHookName,
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeout: settings.terminateHookSeconds,
      defaultResult: 'CONTINUE',
    },
  ];
  Validations.of(autoScalingGroup).acknowledge({
    id: 'AwsSolutions-AS3',
    reason: 'Scaling events are consumed as lifecycle events by the reconcile Lambda; a NAT that fails to launch or leaves a zone without egress pages through the TablesWithoutSameAzNat alarm instead of a notification per event.',
  });
  return { securityGroup, instanceRole, autoScalingGroup };
}

/**
 * The NAT's role: read the agent package and (opt-in) Session Manager. Its heartbeats go to the
 * intake's Function URL (granted where the intake is created), which writes them on its behalf:
 * no CloudWatch, no DynamoDB, nothing of EC2, the route tables or the controller.
 */
function createInstanceRole(scope: Construct, sessionManager: boolean): iam.Role {
  const instanceRole = new iam.Role(scope, 'InstanceRole', {
    assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
    description: `natbeat NAT: read the agent package, call the intake${sessionManager ? ', Session Manager' : ''}`,
  });
  if (sessionManager) {
    // What the SSM Agent needs for Session Manager and nothing else of Systems Manager: no
    // ssm:GetParameter(s), documents, associations or inventory (AmazonSSMManagedInstanceCore has them).
    instanceRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'SessionManagerOnly',
        actions: [
          'ssm:UpdateInstanceInformation',
          'ssmmessages:CreateControlChannel',
          'ssmmessages:CreateDataChannel',
          'ssmmessages:OpenControlChannel',
          'ssmmessages:OpenDataChannel',
        ],
        resources: ['*'],
      }),
    );
    Validations.of(instanceRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'The four ssmmessages channel actions have no resource type, so "*" is the only resource they accept; ssm:UpdateInstanceInformation only registers the instance itself.',
    });
  }
  return instanceRole;
}

/** User data: download the agent package, unzip it, check its digests, install it with its settings. */
function agentUserData(agentAsset: AgentAsset, props: NatGroupProps): ec2.UserData {
  const { settings } = props;
  const probeTargets = props.probeTargets ?? [`monitoring.${Aws.REGION}.${Aws.URL_SUFFIX}:443`, 'checkip.amazonaws.com:443'];
  const userData = ec2.UserData.forLinux();
  userData.addCommands('set -euo pipefail');
  const packageZip = userData.addS3DownloadCommand({
    bucket: agentAsset.bucket,
    bucketKey: agentAsset.s3ObjectKey,
    localFile: '/opt/natbeat/natbeat-agent.zip',
  });
  // Keys are the agent's own flag twins, so the two cannot drift apart.
  const agentSettings: Record<string, string> = {
    [AGENT_FLAGS['group-name'].env]: settings.groupName,
    [AGENT_FLAGS.namespace.env]: settings.heartbeatNamespace,
    [AGENT_FLAGS['vpc-cidr'].env]: props.allowedCidrs.join(','),
    [AGENT_FLAGS['probe-target'].env]: probeTargets.join(','),
    [AGENT_FLAGS['heartbeat-period'].env]: String(settings.heartbeatSeconds),
    [AGENT_FLAGS.interval.env]: String(settings.probeIntervalSeconds),
    [AGENT_FLAGS.region.env]: Aws.REGION,
    [AGENT_FLAGS['report-url'].env]: props.reportUrl,
    ...(settings.handoverDrainSeconds > 0 ? {} : { [AGENT_FLAGS['no-handover'].env]: 'true' }),
  };
  userData.addCommands(
    'mkdir -p /opt/natbeat/package',
    // python3 is part of every Amazon Linux 2023 image; unzip is not in the minimal one.
    `python3 -m zipfile -e ${packageZip} /opt/natbeat/package`,
    // Nothing from the package runs unless every file is exactly what was synthesized: the digests
    // live in the launch template, so whoever can write the S3 object still cannot run code here.
    `printf '%s\\n' ${agentAsset.digests
      .split('\n')
      .map((line) => `'${line}'`)
      .join(' ')} | (cd /opt/natbeat/package && sha256sum --check --strict)`,
    `bash /opt/natbeat/package/${AGENT_INSTALL_FILE} /opt/natbeat/package/${AGENT_BUNDLE_FILE} ${Object.entries(agentSettings)
      .map(([k, v]) => `'${k}=${v}'`)
      .join(' ')}`,
  );
  return userData;
}
