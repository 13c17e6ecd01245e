/**
 * NatBeat: highly available NAT instances. One Auto Scaling group with one NAT per Availability
 * Zone, an agent on each NAT publishing a routing heartbeat, and a reconcile Lambda that moves the
 * private route tables' default routes to healthy NATs. Alarms page operators through an
 * encrypted SNS topic.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, ArnFormat, Aws, Duration, Names, RemovalPolicy, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ControllerMetric, controllerServiceName } from '../../common/controller-metrics';
import {
  DEFAULT_HEARTBEAT_PERIOD_SECONDS,
  DEFAULT_PROBE_INTERVAL_SECONDS,
  DIMENSION_GROUP,
  DIMENSION_ZONE,
  HEARTBEAT_METRIC,
  HEARTBEAT_NAMESPACE,
} from '../../common/heartbeat';
import { DEFAULT_CONFIG, ENV } from '../../lambdas/core/config';
import { AGENT_BUNDLE_FILE, AGENT_INSTALL_FILE, AgentAsset } from './agent-asset';

/** Root of the natbeat sources: the Lambda entries, the agent and the lock file live there. */
export const NATBEAT_SOURCE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Tag value that marks a group as managed (with the `natbeat:managed` key of the controller). */
export const MANAGED_TAG_VALUE = 'true';

/** Tag put on the NATs' network interfaces (launch template), used to scope AssociateAddress. */
export const GROUP_TAG_KEY = 'natbeat:group';

/** Periods a CloudWatch alarm accepts: 10, 20, 30 s or a multiple of 60 s (PutMetricAlarm). */
export function alarmPeriodFor(seconds: number): number {
  for (const p of [10, 20, 30]) if (seconds <= p) return p;
  return Math.ceil(seconds / 60) * 60;
}

/**
 * Fixed name of the reconcile Lambda, derived from the group name. The NATs' user data and IAM
 * policy name the function by it, so the launch template does not depend on the function (a
 * replaced function does not roll the NATs). Lambda names: 1–64 of [A-Za-z0-9_-].
 */
export function reconcileFunctionName(groupName: string): string {
  const suffix = '-reconcile';
  const base = groupName.replace(/[^A-Za-z0-9_-]/g, '-');
  if (base.length + suffix.length <= 64 && base === groupName) return `${base}${suffix}`;
  // Shortened or sanitized: a hash of the real group name keeps two such groups apart.
  const hash = createHash('sha256').update(groupName).digest('hex').slice(0, 8);
  return `${base.slice(0, 64 - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

/** Lifecycle hook timeouts must be 30–7200 s (PutLifecycleHook HeartbeatTimeout). */
const HOOK_MIN_SECONDS = 30;
const HOOK_MAX_SECONDS = 7200;

export interface NatBeatProps {
  /** The VPC whose private route tables natbeat serves. */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets the NATs are launched in: public subnets, one per Availability Zone.
   * @default - the VPC's public subnets, one per AZ
   */
  readonly natSubnets?: ec2.SubnetSelection;

  /**
   * Private subnets whose route tables natbeat routes through the NATs. Their route tables are
   * tagged with `routeTableTag` when they are defined in this app; imported route tables must be
   * tagged by you.
   * @default - the VPC's isolated subnets (`SubnetType.PRIVATE_ISOLATED`): their route tables have
   * no default route of their own, so natbeat's is the only one
   */
  readonly privateSubnets?: ec2.SubnetSelection;

  /**
   * Tag (`key`, `value`) that marks the private route tables natbeat may route. It is also the
   * IAM condition that limits CreateRoute/ReplaceRoute.
   * @default - `network=private` (DEFAULT_CONFIG.routeTableTag)
   */
  readonly routeTableTag?: { readonly key: string; readonly value: string };

  /**
   * IPv4 ranges allowed to send traffic through the NATs (security group ingress, and the ranges
   * the agent masquerades).
   * @default - the VPC's primary CIDR block
   */
  readonly allowedCidrs?: string[];

  /**
   * NAT instance type.
   * @default t4g.nano (arm64)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * AMI of the NATs. Must be Amazon Linux 2023 (user data and install.sh use dnf and systemd)
   * of the instance type's architecture.
   * @default - latest Amazon Linux 2023 from its public SSM parameter, resolved at deploy time, of
   * the instance type's architecture
   */
  readonly machineImage?: ec2.IMachineImage;

  /**
   * Key pair for SSH. No SSH ingress rule is added from outside the allowed CIDRs either way;
   * use Session Manager.
   * @default - no key pair
   */
  readonly keyPair?: ec2.IKeyPair;

  /**
   * NATs older than this are replaced (picking up a fresh AMI): 1–365 days.
   * @default Duration.days(14)
   */
  readonly maxInstanceLifetime?: Duration;

  /**
   * Name of the Auto Scaling group. A fixed name lets the IAM policies, event rules and alarms
   * refer to the group without depending on it, so the lifecycle rule exists before the first
   * NAT launches.
   * @default - a name unique to this construct in its stack
   */
  readonly groupName?: string;

  /**
   * Seconds between two healthy heartbeats (agent and controller).
   * @default Duration.seconds(10)
   */
  readonly heartbeatPeriod?: Duration;

  /**
   * Seconds between two probe cycles on a NAT.
   * @default Duration.seconds(2)
   */
  readonly probeInterval?: Duration;

  /**
   * A NAT with no heartbeat for this long is silent. Must exceed the heartbeat period.
   * @default Duration.seconds(25) (DEFAULT_CONFIG.silenceSeconds)
   */
  readonly silenceWindow?: Duration;

  /**
   * No NAT is marked unhealthy during this long after it enters service.
   * @default Duration.seconds(300) (DEFAULT_CONFIG.graceSeconds)
   */
  readonly gracePeriod?: Duration;

  /**
   * A launching NAT that has not published a heartbeat within this long is abandoned.
   * @default Duration.seconds(600) (DEFAULT_CONFIG.launchProofTimeoutSeconds)
   */
  readonly launchProofTimeout?: Duration;

  /**
   * Heartbeat timeout of the launch lifecycle hook (DefaultResult ABANDON). Must exceed
   * `launchProofTimeout` so the controller decides before Auto Scaling does.
   * @default launchProofTimeout + 2 minutes
   */
  readonly launchHookTimeout?: Duration;

  /**
   * Heartbeat timeout of the terminate lifecycle hook (DefaultResult CONTINUE): the time the
   * controller has to move routes off a leaving NAT.
   * @default Duration.minutes(2)
   */
  readonly terminateHookTimeout?: Duration;

  /**
   * When more than this share of the fleet is silent or failing at once, nothing is marked
   * unhealthy and the safety-valve alarm pages (0–1).
   * @default 0.5
   */
  readonly maxUnhealthyShare?: number;

  /**
   * Consecutive healthy heartbeats an own-AZ NAT needs before routes fail back to it.
   * @default 3
   */
  readonly failbackHeartbeats?: number;

  /**
   * Elastic IP allocation per Availability Zone (`us-east-1a` → `eipalloc-…`): the NAT of that
   * zone gets it, so egress addresses survive replacement. AssociateAddress is granted on these
   * allocations only.
   * @default - none: NATs use auto-assigned public IPs and the controller may not associate any
   */
  readonly elasticIps?: Record<string, string>;

  /**
   * TCP targets (`host:port`) of the agent's forward-path probe; any one reachable counts.
   * @default - the Region's CloudWatch endpoint on 443 (the agent needs it anyway) and
   * checkip.amazonaws.com:443
   */
  readonly probeTargets?: string[];

  /**
   * Run the controller in dry-run mode: it logs and counts what it would do and changes nothing.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * Topic the alarms notify. When given, it is used as it is (its encryption and policy are yours).
   * @default - a new topic encrypted with a new KMS key
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * E-mail address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * How long a zone's private route tables may lack a healthy same-AZ NAT before it pages.
   * Whole minutes, 1–60.
   * @default Duration.minutes(3)
   */
  readonly zoneWithoutNatAlarmAfter?: Duration;

  /**
   * How long without a completed reconcile run before the dead-man's switch pages. Whole
   * minutes, 2–60.
   * @default Duration.minutes(5)
   */
  readonly reconcileStoppedAlarmAfter?: Duration;

  /**
   * Retention of the Lambdas' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Create a CloudWatch dashboard.
   * @default true
   */
  readonly dashboard?: boolean;

  /**
   * Root of the natbeat sources (Lambda entries, agent, package-lock.json).
   * @default - the directory this package is installed in
   */
  readonly sourceRoot?: string;
}

/** Resolved settings; every default applied once, in one place. */
interface Settings {
  readonly groupName: string;
  readonly routeTableTag: { readonly key: string; readonly value: string };
  readonly heartbeatSeconds: number;
  readonly probeIntervalSeconds: number;
  readonly silenceSeconds: number;
  readonly graceSeconds: number;
  readonly launchProofSeconds: number;
  readonly launchHookSeconds: number;
  readonly terminateHookSeconds: number;
  readonly maxUnhealthyShare: number;
  readonly failbackHeartbeats: number;
  readonly maxInstanceLifetime: Duration;
  readonly elasticIps: Record<string, string>;
  readonly zoneWithoutNatMinutes: number;
  readonly reconcileStoppedMinutes: number;
}

function fail(message: string): never {
  throw new Error(`NatBeat: ${message}`);
}

function wholeSeconds(name: string, d: Duration): number {
  const s = d.toMilliseconds() / 1000;
  if (!Number.isInteger(s)) fail(`${name} must be a whole number of seconds (got ${s})`);
  return s;
}

function wholeMinutes(name: string, d: Duration, min: number, max: number): number {
  const s = d.toMilliseconds() / 1000;
  if (s % 60 !== 0 || s / 60 < min || s / 60 > max) {
    fail(`${name} must be a whole number of minutes from ${min} to ${max} (got ${s} s)`);
  }
  return s / 60;
}

function inRange(name: string, value: number, min: number, max: number, unit = ''): number {
  if (!(value >= min && value <= max)) fail(`${name} must be from ${min} to ${max}${unit} (got ${value}${unit})`);
  return value;
}

/** Applies defaults and validates combinations; throws at synth with the offending prop named. */
export function resolveSettings(scope: Construct, props: NatBeatProps): Settings {
  const heartbeatSeconds = inRange(
    'heartbeatPeriod',
    wholeSeconds('heartbeatPeriod', props.heartbeatPeriod ?? Duration.seconds(DEFAULT_HEARTBEAT_PERIOD_SECONDS)),
    1,
    300,
    ' s',
  );
  const probeIntervalSeconds = inRange(
    'probeInterval',
    (props.probeInterval ?? Duration.seconds(DEFAULT_PROBE_INTERVAL_SECONDS)).toMilliseconds() / 1000,
    0.2,
    heartbeatSeconds,
    ' s (at most the heartbeat period)',
  );
  const silenceSeconds = inRange(
    'silenceWindow',
    wholeSeconds('silenceWindow', props.silenceWindow ?? Duration.seconds(DEFAULT_CONFIG.silenceSeconds)),
    5,
    3600,
    ' s',
  );
  if (silenceSeconds <= heartbeatSeconds) {
    fail(`silenceWindow (${silenceSeconds} s) must exceed heartbeatPeriod (${heartbeatSeconds} s), or every NAT looks silent between two beats`);
  }
  const graceSeconds = inRange(
    'gracePeriod',
    wholeSeconds('gracePeriod', props.gracePeriod ?? Duration.seconds(DEFAULT_CONFIG.graceSeconds)),
    0,
    7200,
    ' s',
  );
  const launchProofSeconds = inRange(
    'launchProofTimeout',
    wholeSeconds('launchProofTimeout', props.launchProofTimeout ?? Duration.seconds(DEFAULT_CONFIG.launchProofTimeoutSeconds)),
    HOOK_MIN_SECONDS,
    HOOK_MAX_SECONDS,
    ' s',
  );
  const launchHookSeconds = inRange(
    'launchHookTimeout',
    wholeSeconds('launchHookTimeout', props.launchHookTimeout ?? Duration.seconds(Math.min(launchProofSeconds + 120, HOOK_MAX_SECONDS))),
    HOOK_MIN_SECONDS,
    HOOK_MAX_SECONDS,
    ' s',
  );
  if (launchHookSeconds <= launchProofSeconds) {
    fail(`launchHookTimeout (${launchHookSeconds} s) must exceed launchProofTimeout (${launchProofSeconds} s), so the controller abandons an unproven NAT before the hook times out`);
  }
  const terminateHookSeconds = inRange(
    'terminateHookTimeout',
    wholeSeconds('terminateHookTimeout', props.terminateHookTimeout ?? Duration.minutes(2)),
    HOOK_MIN_SECONDS,
    HOOK_MAX_SECONDS,
    ' s',
  );
  const maxUnhealthyShare = inRange('maxUnhealthyShare', props.maxUnhealthyShare ?? DEFAULT_CONFIG.maxUnhealthyShare, 0, 1);
  const failbackHeartbeats = inRange('failbackHeartbeats', props.failbackHeartbeats ?? DEFAULT_CONFIG.failbackHeartbeats, 1, 100);
  if (!Number.isInteger(failbackHeartbeats)) fail(`failbackHeartbeats must be a whole number (got ${failbackHeartbeats})`);

  const maxInstanceLifetime = props.maxInstanceLifetime ?? Duration.days(14);
  inRange('maxInstanceLifetime', maxInstanceLifetime.toMilliseconds() / 86_400_000, 1, 365, ' days');

  const routeTableTag = props.routeTableTag ?? DEFAULT_CONFIG.routeTableTag;
  if (!routeTableTag.key.trim() || !routeTableTag.value.trim() || routeTableTag.key.includes('=')) {
    fail(`routeTableTag needs a non-empty key without "=" and a non-empty value (got ${JSON.stringify(routeTableTag)})`);
  }

  const elasticIps = props.elasticIps ?? {};
  for (const [az, allocation] of Object.entries(elasticIps)) {
    if (!/^[a-z0-9-]+$/.test(az)) fail(`elasticIps key "${az}" must be an Availability Zone name such as us-east-1a`);
    if (!Token.isUnresolved(allocation) && !/^eipalloc-[0-9a-f]+$/.test(allocation)) {
      fail(`elasticIps["${az}"] must be an allocation id eipalloc-… (got "${allocation}")`);
    }
  }

  const groupName = props.groupName ?? Names.uniqueResourceName(scope, { maxLength: 120, separator: '-' });
  if (!Token.isUnresolved(groupName) && !/^[\w.-]{1,255}$/.test(groupName)) {
    fail(`groupName must be 1–255 letters, digits, _ . - (got "${groupName}")`);
  }
  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !/^[^@\s]+@[^@\s]+$/.test(props.alarmEmail)) {
    fail(`alarmEmail must be an e-mail address (got "${props.alarmEmail}")`);
  }
  for (const target of props.probeTargets ?? []) {
    if (!Token.isUnresolved(target) && !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(target)) fail(`probeTargets entry "${target}" must be host:port`);
  }
  if (props.probeTargets !== undefined && props.probeTargets.length === 0) fail('probeTargets must not be empty');
  if (props.allowedCidrs !== undefined && props.allowedCidrs.length === 0) fail('allowedCidrs must not be empty');

  return {
    groupName,
    routeTableTag,
    heartbeatSeconds,
    probeIntervalSeconds,
    silenceSeconds,
    graceSeconds,
    launchProofSeconds,
    launchHookSeconds,
    terminateHookSeconds,
    maxUnhealthyShare,
    failbackHeartbeats,
    maxInstanceLifetime,
    elasticIps,
    zoneWithoutNatMinutes: wholeMinutes('zoneWithoutNatAlarmAfter', props.zoneWithoutNatAlarmAfter ?? Duration.minutes(3), 1, 60),
    reconcileStoppedMinutes: wholeMinutes('reconcileStoppedAlarmAfter', props.reconcileStoppedAlarmAfter ?? Duration.minutes(5), 2, 60),
  };
}

export class NatBeat extends Construct {
  /** The NATs' Auto Scaling group (one NAT per AZ). */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** Name of the Auto Scaling group. */
  public readonly groupName: string;
  /** The NATs' security group. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The NATs' instance role. */
  public readonly instanceRole: iam.Role;
  /** Reconcile Lambda (schedule, zone heartbeat alarms and the NATs' failure hints). */
  public readonly reconcileFunction: nodejs.NodejsFunction;
  /** Lifecycle Lambda (Auto Scaling lifecycle events). */
  public readonly lifecycleFunction: nodejs.NodejsFunction;
  /** Topic every natbeat alarm notifies. */
  public readonly alarmTopic: sns.ITopic;
  /** Key encrypting the alarm topic, when natbeat created the topic. */
  public readonly alarmTopicKey?: kms.Key;
  /** Every alarm, by purpose. */
  public readonly alarms: {
    readonly zoneWithoutSameAzNat: cloudwatch.Alarm;
    readonly noNatAnywhere: cloudwatch.Alarm;
    readonly controllerErrors: cloudwatch.Alarm;
    readonly reconcileStopped: cloudwatch.Alarm;
    readonly safetyValve: cloudwatch.Alarm;
    /**
     * Per AZ, in the order of `availabilityZones`: the high-resolution trigger. ALARM on an explicit
     * failure (heartbeat 0) or one empty period; its state changes invoke reconcile. Never pages.
     */
    readonly zoneHeartbeat: cloudwatch.Alarm[];
    /**
     * Per AZ, in the same order: the standard-resolution page. No healthy heartbeat from the zone
     * for two minutes (or longer than the silence window). Does not invoke reconcile.
     */
    readonly zoneSilent: cloudwatch.Alarm[];
  };
  /** Availability Zones of the NATs. */
  public readonly availabilityZones: string[];
  /** The dashboard, unless disabled. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: NatBeatProps) {
    super(scope, id);
    const settings = resolveSettings(this, props);
    const sourceRoot = props.sourceRoot ?? NATBEAT_SOURCE_ROOT;
    this.groupName = settings.groupName;

    // --- Network placement -----------------------------------------------------------------
    const natSubnets = props.vpc.selectSubnets(props.natSubnets ?? { subnetType: ec2.SubnetType.PUBLIC, onePerAz: true });
    if (natSubnets.subnets.length === 0) fail('natSubnets selects no subnet');
    const zones = natSubnets.availabilityZones;
    const resolvedZones = zones.filter((z) => !Token.isUnresolved(z));
    if (new Set(resolvedZones).size !== resolvedZones.length) {
      fail(`natSubnets must hold one subnet per Availability Zone (got zones ${resolvedZones.join(', ')}); add onePerAz: true`);
    }
    this.availabilityZones = zones;
    if (!natSubnets.hasPublic) {
      Annotations.of(this).addWarningV2('natbeat:natSubnetsNotPublic', 'natSubnets are not public subnets of this VPC: the NATs need a route to an internet gateway.');
    }
    const privateSubnets = props.vpc.selectSubnets(props.privateSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    if (privateSubnets.subnets.length === 0) fail('privateSubnets selects no subnet: there is nothing to route through the NATs');
    this.tagRouteTables(privateSubnets.subnets, settings.routeTableTag);

    const allowedCidrs = props.allowedCidrs ?? [props.vpc.vpcCidrBlock];
    const zoneCount = zones.length;

    // --- NAT instances -------------------------------------------------------------------------
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'natbeat NAT instances: traffic from the VPC to forward; no SSH from outside',
      allowAllOutbound: true,
    });
    allowedCidrs.forEach((cidr) => {
      this.securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.allTraffic(), 'Traffic to forward from the private ranges');
    });
    Validations.of(this.securityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'Ingress is only from the VPC CIDR block(s); cdk-nag cannot evaluate the CIDR because it is a CloudFormation reference (GetAtt of the VPC), so the rule errors instead of passing.',
    });

    this.instanceRole = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'natbeat NAT: publish the routing heartbeat, Session Manager, read the agent package',
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    this.instanceRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PublishHeartbeatOnlyInNatBeatNamespace',
        actions: ['cloudwatch:PutMetricData'],
        // PutMetricData has no resource type; the namespace condition is its only scope.
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': HEARTBEAT_NAMESPACE } },
      }),
    );
    Validations.of(this.instanceRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudwatch:PutMetricData has no resource type, so "*" is the only resource it accepts; the cloudwatch:namespace condition limits it to the NatBeat namespace.',
    });
    Validations.of(this.instanceRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'Session Manager replaces SSH for operators; AmazonSSMManagedInstanceCore is the policy AWS maintains for exactly that and nothing more.',
    });

    // The agent's direct fast path: on a failed probe it invokes reconcile asynchronously with a
    // hint. This one function only; the controller trusts nothing in the payload (README).
    const reconcileName = Token.isUnresolved(settings.groupName)
      ? `${Names.uniqueResourceName(this, { maxLength: 54, separator: '-' })}-reconcile`
      : reconcileFunctionName(settings.groupName);
    const reconcileArn = Stack.of(this).formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: reconcileName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.instanceRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReportFailureToReconcile',
        actions: ['lambda:InvokeFunction'],
        resources: [reconcileArn],
      }),
    );

    const agentAsset = new AgentAsset(this, 'AgentPackage', { sourceRoot });
    // The one object user data downloads, rather than asset.grantRead's bucket-wide List*/Get*.
    this.instanceRole.addToPolicy(
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

    const probeTargets = props.probeTargets ?? [`monitoring.${Aws.REGION}.${Aws.URL_SUFFIX}:443`, 'checkip.amazonaws.com:443'];
    const userData = ec2.UserData.forLinux();
    userData.addCommands('set -euo pipefail');
    const packageZip = userData.addS3DownloadCommand({
      bucket: agentAsset.bucket,
      bucketKey: agentAsset.s3ObjectKey,
      localFile: '/opt/natbeat/natbeat-agent.zip',
    });
    const agentSettings: Record<string, string> = {
      NATBEAT_GROUP_NAME: settings.groupName,
      NATBEAT_NAMESPACE: HEARTBEAT_NAMESPACE,
      NATBEAT_VPC_CIDR: allowedCidrs.join(','),
      NATBEAT_PROBE_TARGET: probeTargets.join(','),
      NATBEAT_HEARTBEAT_PERIOD: String(settings.heartbeatSeconds),
      NATBEAT_INTERVAL: String(settings.probeIntervalSeconds),
      NATBEAT_REGION: Aws.REGION,
      NATBEAT_RECONCILE_FUNCTION: reconcileName,
    };
    userData.addCommands(
      'mkdir -p /opt/natbeat/package',
      // python3 is part of every Amazon Linux 2023 image; unzip is not in the minimal one.
      `python3 -m zipfile -e ${packageZip} /opt/natbeat/package`,
      `bash /opt/natbeat/package/${AGENT_INSTALL_FILE} /opt/natbeat/package/${AGENT_BUNDLE_FILE} ${Object.entries(agentSettings)
        .map(([k, v]) => `'${k}=${v}'`)
        .join(' ')}`,
    );

    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      machineImage,
      userData,
      role: this.instanceRole,
      securityGroup: this.securityGroup,
      keyPair: props.keyPair,
      requireImdsv2: true,
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

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: { subnets: natSubnets.subnets },
      launchTemplate,
      autoScalingGroupName: settings.groupName,
      // No desiredCapacity: it starts at minCapacity and a deploy never resets it mid-replacement.
      minCapacity: zoneCount,
      // Room for launch-before-terminate replacement and rolling updates; AZ balancing keeps one per zone.
      maxCapacity: zoneCount * 2,
      maxInstanceLifetime: settings.maxInstanceLifetime,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.seconds(settings.graceSeconds) }),
      // A replacement NAT launches, proves it routes, takes the routes, and only then the old one goes.
      minHealthyPercentage: 100,
      maxHealthyPercentage: 200,
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: zoneCount }),
      groupMetrics: [autoscaling.GroupMetrics.all()],
    });
    Tags.of(this.autoScalingGroup).add(DEFAULT_CONFIG.groupTagKey, MANAGED_TAG_VALUE, { applyToLaunchedInstances: true });
    // Hooks are part of the group itself, so the very first NATs already wait for their proof.
    const cfnGroup = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
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
    Validations.of(this.autoScalingGroup).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'Scaling events are consumed as lifecycle events by the lifecycle Lambda; a NAT that fails to launch or leaves a zone without egress pages through the TablesWithoutSameAzNat alarm instead of a notification per event.',
    });

    // --- Controller ----------------------------------------------------------------------------
    const environment = this.controllerEnvironment(settings, props.dryRun ?? false);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.reconcileFunction = this.controllerFunction('Reconcile', {
      functionName: reconcileName,
      sourceRoot,
      entry: 'lambdas/reconcile/handler.ts',
      description: 'natbeat: observe NATs and route tables, mark silent NATs, move routes',
      environment,
      logRetention,
      // One run at a time; with no retries and a short event age this also bounds what the NATs'
      // failure hints (or a misbehaving NAT) can cost.
      reservedConcurrentExecutions: 1,
      timeout: Duration.seconds(55),
      // Level-triggered: a lost or stale run is replaced by the next one.
      retryAttempts: 0,
      maxEventAge: Duration.minutes(2),
    });
    this.lifecycleFunction = this.controllerFunction('Lifecycle', {
      sourceRoot,
      entry: 'lambdas/lifecycle/handler.ts',
      description: 'natbeat: handle Auto Scaling launch/terminate lifecycle actions',
      environment,
      logRetention,
      timeout: Duration.seconds(60),
      retryAttempts: 2,
      maxEventAge: Duration.seconds(Math.max(60, settings.launchHookSeconds)),
    });
    for (const fn of [this.reconcileFunction, this.lifecycleFunction]) {
      this.grantController(fn.role as iam.Role, settings);
    }

    new events.Rule(this, 'ReconcileSchedule', {
      description: 'natbeat backstop: reconcile every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.reconcileFunction, { retryAttempts: 0 })],
    });

    const launchRule = new events.Rule(this, 'LaunchLifecycleRule', {
      description: 'natbeat: launch lifecycle actions of the NAT group',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-launch Lifecycle Action'],
        detail: { AutoScalingGroupName: [settings.groupName], LifecycleHookName: [DEFAULT_CONFIG.launchHookName] },
      },
      targets: [new targets.LambdaFunction(this.lifecycleFunction)],
    });
    const terminateRule = new events.Rule(this, 'TerminateLifecycleRule', {
      description: 'natbeat: terminate lifecycle actions of the NAT group',
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance-terminate Lifecycle Action'],
        detail: { AutoScalingGroupName: [settings.groupName], LifecycleHookName: [DEFAULT_CONFIG.terminateHookName] },
      },
      targets: [new targets.LambdaFunction(this.lifecycleFunction)],
    });
    // The rules and the function exist before the first NAT launches and waits in its hook.
    this.autoScalingGroup.node.addDependency(launchRule, terminateRule, this.lifecycleFunction);

    // --- Alarms ----------------------------------------------------------------------------------
    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      const created = this.createAlarmTopic(settings.groupName);
      this.alarmTopic = created.topic;
      this.alarmTopicKey = created.key;
    }
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.alarms = this.createAlarms(settings);

    new events.Rule(this, 'AlarmRule', {
      // ALARM: a zone missed a heartbeat or reported a failure. OK: a zone's heartbeat is back,
      // e.g. a launching NAT has proved it routes and can get its routes and CONTINUE without
      // waiting for the schedule. Only the trigger alarms: the paging ZoneSilent alarms must not
      // add runs of their own.
      description: 'natbeat fast path: a zone heartbeat alarm changed state, reconcile now',
      eventPattern: {
        source: ['aws.cloudwatch'],
        detailType: ['CloudWatch Alarm State Change'],
        detail: {
          // Literal names (not the alarms' Refs): the pattern reads as what it matches.
          alarmName: this.availabilityZones.map((zone) => this.alarmName(`ZoneHeartbeat-${zone}`)),
          state: { value: ['ALARM', 'OK'] },
        },
      },
      targets: [new targets.LambdaFunction(this.reconcileFunction, { retryAttempts: 0 })],
    });

    if (props.dashboard ?? true) this.dashboard = this.createDashboard(settings);
  }

  /** Tags the route tables of the private subnets defined in this app; warns about the others. */
  private tagRouteTables(subnets: ec2.ISubnet[], tag: { key: string; value: string }): void {
    for (const subnet of subnets) {
      const routeTable = subnet.node.tryFindChild('RouteTable');
      if (routeTable instanceof ec2.CfnRouteTable) {
        Tags.of(routeTable).add(tag.key, tag.value);
      } else {
        Annotations.of(this).addWarningV2(
          'natbeat:untaggedRouteTable',
          `The route table of subnet ${subnet.node.path} is not defined in this app: tag it ${tag.key}=${tag.value} yourself, or natbeat will not route it.`,
        );
      }
    }
  }

  private controllerEnvironment(s: Settings, dryRun: boolean): Record<string, string> {
    const elasticIps = Object.entries(s.elasticIps)
      .map(([az, allocation]) => `${s.groupName}/${az}=${allocation}`)
      .join(',');
    return {
      [ENV.groupTagKey]: DEFAULT_CONFIG.groupTagKey,
      // The controller manages exactly this group: its IAM policy is scoped to it.
      [ENV.groupNames]: s.groupName,
      [ENV.routeTableTag]: `${s.routeTableTag.key}=${s.routeTableTag.value}`,
      [ENV.namespace]: HEARTBEAT_NAMESPACE,
      [ENV.heartbeatPeriodSeconds]: String(s.heartbeatSeconds),
      [ENV.silenceSeconds]: String(s.silenceSeconds),
      [ENV.graceSeconds]: String(s.graceSeconds),
      [ENV.failbackHeartbeats]: String(s.failbackHeartbeats),
      [ENV.maxUnhealthyShare]: String(s.maxUnhealthyShare),
      [ENV.launchHookName]: DEFAULT_CONFIG.launchHookName,
      [ENV.terminateHookName]: DEFAULT_CONFIG.terminateHookName,
      [ENV.launchProofTimeoutSeconds]: String(s.launchProofSeconds),
      [ENV.elasticIps]: elasticIps,
      [ENV.elasticIpTagPrefix]: DEFAULT_CONFIG.elasticIpTagPrefix,
      [ENV.dryRun]: String(dryRun),
      [ENV.maxAttempts]: String(DEFAULT_CONFIG.maxAttempts),
      POWERTOOLS_SERVICE_NAME: controllerServiceName(s.groupName),
      POWERTOOLS_METRICS_NAMESPACE: HEARTBEAT_NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
    };
  }

  private controllerFunction(
    id: string,
    opts: {
      functionName?: string;
      sourceRoot: string;
      entry: string;
      description: string;
      environment: Record<string, string>;
      logRetention: logs.RetentionDays;
      timeout: Duration;
      retryAttempts: number;
      maxEventAge: Duration;
      reservedConcurrentExecutions?: number;
    },
  ): nodejs.NodejsFunction {
    assertLocalEsbuild();
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: opts.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role without AWSLambdaBasicExecutionRole: logs go to this one log group only.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `natbeat ${id.toLowerCase()} Lambda`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new nodejs.NodejsFunction(this, id, {
      functionName: opts.functionName,
      entry: path.join(opts.sourceRoot, opts.entry),
      handler: 'handler',
      projectRoot: opts.sourceRoot,
      depsLockFilePath: path.join(opts.sourceRoot, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: opts.timeout,
      description: opts.description,
      environment: opts.environment,
      role,
      logGroup,
      reservedConcurrentExecutions: opts.reservedConcurrentExecutions,
      retryAttempts: opts.retryAttempts,
      maxEventAge: opts.maxEventAge,
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // Bundle the AWS SDK (as scripts/build.ts does): the version we test is the version that runs.
        externalModules: [],
        banner:
          "import { createRequire as __natbeatRequire } from 'node:module'; const require = __natbeatRequire(import.meta.url);",
        forceDockerBundling: false,
        logLevel: nodejs.LogLevel.WARNING,
      },
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'nodejs22.x is the runtime natbeat is built and tested for (esbuild target node22; supported until 2027-04-30). Moving to nodejs24.x is a deliberate upgrade with its own test run, not a silent default.',
    });
    return fn;
  }

  /** The controller's permissions: reads on `*` (no resource-level support), writes scoped. */
  private grantController(role: iam.Role, s: Settings): void {
    const stack = Stack.of(this);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ObserveReadOnly',
        // Describe*/GetMetricData support no resource-level permissions.
        actions: [
          'autoscaling:DescribeAutoScalingGroups',
          'ec2:DescribeInstances',
          'ec2:DescribeSubnets',
          'ec2:DescribeRouteTables',
          'ec2:DescribeAddresses',
          'cloudwatch:GetMetricData',
        ],
        resources: ['*'],
      }),
    );
    const groupArn = stack.formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      resourceName: `*:autoScalingGroupName/${s.groupName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ActOnOwnGroup',
        actions: ['autoscaling:SetInstanceHealth', 'autoscaling:CompleteLifecycleAction'],
        resources: [groupArn],
      }),
    );
    const routeTableArn = stack.formatArn({ service: 'ec2', resource: 'route-table', resourceName: '*' });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RouteTaggedPrivateTables',
        actions: ['ec2:CreateRoute', 'ec2:ReplaceRoute'],
        resources: [routeTableArn],
        conditions: { StringEquals: { [`aws:ResourceTag/${s.routeTableTag.key}`]: s.routeTableTag.value } },
      }),
    );
    const instanceArn = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    const networkInterfaceArn = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DisableSourceDestCheckOnOwnNats',
        actions: ['ec2:ModifyInstanceAttribute'],
        resources: [instanceArn],
        conditions: { StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': s.groupName } },
      }),
    );
    const allocations = Object.values(s.elasticIps);
    if (allocations.length > 0) {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AssociatePinnedAddresses',
          actions: ['ec2:AssociateAddress'],
          resources: allocations.map((a) => stack.formatArn({ service: 'ec2', resource: 'elastic-ip', resourceName: a })),
        }),
      );
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'AssociateAddressToOwnNats',
          actions: ['ec2:AssociateAddress'],
          resources: [instanceArn, networkInterfaceArn],
          conditions: { StringEquals: { [`aws:ResourceTag/${GROUP_TAG_KEY}`]: s.groupName } },
        }),
      );
    }
    const acknowledge = (finding: string, reason: string) =>
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
    const resource = (arn: string) => `Resource::${renderForNag(stack, arn)}`;
    acknowledge('Resource::*', 'Only the read-only Describe* and cloudwatch:GetMetricData calls use "*": they support no resource-level permissions. Every mutating action is scoped by ARN or tag condition.');
    acknowledge(
      resource(groupArn),
      'The "*" is the group id, unknown until creation; the ARN names this one group.',
    );
    acknowledge(
      resource(routeTableArn),
      'Route tables are chosen at run time by their tag; the statement is conditioned on aws:ResourceTag of that tag, so only tagged private tables can be changed.',
    );
    acknowledge(
      resource(instanceArn),
      "NAT instances come and go; the statement is conditioned on the instance's aws:autoscaling:groupName (or natbeat:group) tag, so only this group's NATs qualify.",
    );
    if (allocations.length > 0) {
      acknowledge(
        resource(networkInterfaceArn),
        "NAT network interfaces come and go; the statement is conditioned on the natbeat:group tag the launch template puts on them.",
      );
    }
  }

  private createAlarmTopic(groupName: string): { topic: sns.Topic; key: kms.Key } {
    const stack = Stack.of(this);
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'natbeat alarm topic encryption',
      enableKeyRotation: true,
      // Holds no data at rest: it only protects notifications in flight through SNS.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch must use the key to publish to the encrypted topic (SNS key management,
    // "compatibility between event sources from AWS services and encrypted topics").
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        // In a key policy "*" is this key.
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `natbeat alarms (${groupName})`,
      masterKey: key,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowOwnAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${groupName}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    return { topic, key };
  }

  /** Every alarm is named `<group>-<suffix>` (the alarm topic's policy relies on the prefix). */
  private alarmName(suffix: string): string {
    return `${this.groupName}-${suffix}`;
  }

  private controllerMetric(name: string, statistic: string, period = Duration.minutes(1)): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: HEARTBEAT_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: controllerServiceName(this.groupName) },
      statistic,
      period,
    });
  }

  private heartbeatMetric(zone: string, statistic: string, periodSeconds: number): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: HEARTBEAT_NAMESPACE,
      metricName: HEARTBEAT_METRIC,
      dimensionsMap: { [DIMENSION_GROUP]: this.groupName, [DIMENSION_ZONE]: zone },
      statistic,
      period: Duration.seconds(periodSeconds),
    });
  }

  private createAlarms(s: Settings): NatBeat['alarms'] {
    const action = new cwActions.SnsAction(this.alarmTopic);
    const page = (alarm: cloudwatch.Alarm): cloudwatch.Alarm => {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      return alarm;
    };
    const name = (suffix: string) => this.alarmName(suffix);

    const zoneWithoutSameAzNat = page(
      new cloudwatch.Alarm(this, 'ZoneWithoutSameAzNatAlarm', {
        alarmName: name('ZoneWithoutSameAzNat'),
        alarmDescription: `Private route tables have had no healthy NAT in their own AZ for ${s.zoneWithoutNatMinutes} min (they route cross-AZ or not at all). Check the NAT group's activity and the controller logs.`,
        metric: this.controllerMetric(ControllerMetric.TablesWithoutSameAzNat, 'Maximum'),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: s.zoneWithoutNatMinutes,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    const noNatAnywhere = page(
      new cloudwatch.Alarm(this, 'NoNatAnywhereAlarm', {
        alarmName: name('NoNatAnywhere'),
        alarmDescription: 'Private route tables have no healthy NAT in any AZ: private subnets have no internet egress.',
        metric: this.controllerMetric(ControllerMetric.TablesWithoutAnyNat, 'Maximum'),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    const errors = new cloudwatch.MathExpression({
      label: 'Controller errors',
      expression: 'FILL(controller, 0) + FILL(reconcile, 0) + FILL(lifecycle, 0)',
      usingMetrics: {
        controller: this.controllerMetric(ControllerMetric.Errors, 'Sum'),
        reconcile: this.reconcileFunction.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
        lifecycle: this.lifecycleFunction.metricErrors({ period: Duration.minutes(1), statistic: 'Sum' }),
      },
      period: Duration.minutes(1),
    });
    const controllerErrors = page(
      new cloudwatch.Alarm(this, 'ControllerErrorsAlarm', {
        alarmName: name('ControllerErrors'),
        alarmDescription: 'The controller failed AWS calls or crashed in 3 of the last 5 minutes. Read the reconcile and lifecycle logs.',
        metric: errors,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    const reconcileStopped = page(
      new cloudwatch.Alarm(this, 'ReconcileStoppedAlarm', {
        alarmName: name('ReconcileStopped'),
        alarmDescription: `Dead-man's switch: no completed reconcile run for ${s.reconcileStoppedMinutes} min. Nothing repairs NAT failures until it runs again.`,
        metric: this.controllerMetric(ControllerMetric.ReconcileRuns, 'Sum'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: s.reconcileStoppedMinutes,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );
    const safetyValve = page(
      new cloudwatch.Alarm(this, 'SafetyValveAlarm', {
        alarmName: name('SafetyValveTripped'),
        alarmDescription: `More than ${s.maxUnhealthyShare * 100}% of the NATs went silent or failing at once: the controller suspects the metric pipeline and replaces nothing. Check the heartbeats by hand.`,
        metric: this.controllerMetric(ControllerMetric.SafetyValveTrips, 'Maximum'),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    // Per AZ, high resolution: the trigger. It fires after one empty period or one explicit 0, well
    // before the silence window ends; the reconcile it starts waits for that window itself. It
    // does not page: a single late heartbeat would be noise. One alarm: $0.30 a month per AZ.
    const triggerPeriod = alarmPeriodFor(s.heartbeatSeconds);
    // Per AZ, standard resolution (60 s periods, $0.10): the page. Two periods at least, and a
    // full period beyond the silence window, so natbeat has had its chance to move the routes.
    const pagePeriod = Math.max(60, alarmPeriodFor(s.heartbeatSeconds));
    const pagePeriods = Math.max(2, Math.ceil(s.silenceSeconds / pagePeriod) + 1);
    const pageMinutes = (pagePeriods * pagePeriod) / 60;
    const zoneHeartbeat: cloudwatch.Alarm[] = [];
    const zoneSilent: cloudwatch.Alarm[] = [];
    this.availabilityZones.forEach((zone, i) => {
      zoneHeartbeat.push(
        new cloudwatch.Alarm(this, `ZoneHeartbeatAlarm${i}`, {
          alarmName: name(`ZoneHeartbeat-${zone}`),
          alarmDescription: `Trigger only, does not page: a NAT in ${zone} reported a routing failure (heartbeat 0) or sent no heartbeat in the last ${triggerPeriod} s. Each state change invokes natbeat's reconcile.`,
          metric: this.heartbeatMetric(zone, 'Minimum', triggerPeriod),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        }),
      );
      zoneSilent.push(
        page(
          new cloudwatch.Alarm(this, `ZoneSilentAlarm${i}`, {
            alarmName: name(`ZoneSilent-${zone}`),
            alarmDescription: `No healthy heartbeat from ${zone} for ${pageMinutes} minutes: its NAT is broken or being replaced; natbeat has already moved its routes; act if it persists (see README).`,
            metric: this.heartbeatMetric(zone, 'Maximum', pagePeriod),
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluationPeriods: pagePeriods,
            treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          }),
        ),
      );
    });
    return { zoneWithoutSameAzNat, noNatAnywhere, controllerErrors, reconcileStopped, safetyValve, zoneHeartbeat, zoneSilent };
  }

  private createDashboard(s: Settings): cloudwatch.Dashboard {
    const period = alarmPeriodFor(s.heartbeatSeconds);
    const a = this.alarms;
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'natbeat alarms',
        width: 24,
        alarms: [a.noNatAnywhere, a.zoneWithoutSameAzNat, a.reconcileStopped, a.controllerErrors, a.safetyValve, ...a.zoneSilent],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Zone heartbeat triggers (invoke reconcile, do not page)',
        width: 24,
        alarms: a.zoneHeartbeat,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        // The trigger alarm's view: a 0 or a gap is what invokes reconcile.
        title: 'Routing heartbeat per zone (min; 1 = healthy, 0 or gap = trigger)',
        width: 12,
        left: this.availabilityZones.map((z) => this.heartbeatMetric(z, 'Minimum', period).with({ label: z })),
        leftYAxis: { min: 0, max: 1.2 },
      }),
      new cloudwatch.GraphWidget({
        title: 'Route tables without a NAT',
        width: 12,
        left: [
          this.controllerMetric(ControllerMetric.TablesWithoutSameAzNat, 'Maximum').with({ label: 'without same-AZ NAT' }),
          this.controllerMetric(ControllerMetric.TablesWithoutAnyNat, 'Maximum').with({ label: 'without any NAT' }),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Controller actions',
        width: 12,
        left: [
          ControllerMetric.RouteChanges,
          ControllerMetric.UnhealthyMarks,
          ControllerMetric.LifecycleCompletions,
          ControllerMetric.SafetyValveTrips,
        ].map((m) => this.controllerMetric(m, 'Sum').with({ label: m })),
      }),
      new cloudwatch.GraphWidget({
        title: 'NAT health and controller runs',
        width: 12,
        left: [ControllerMetric.SilentNats, ControllerMetric.FailingNats].map((m) => this.controllerMetric(m, 'Maximum').with({ label: m })),
        right: [ControllerMetric.ReconcileRuns, ControllerMetric.Errors].map((m) => this.controllerMetric(m, 'Sum').with({ label: m })),
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lambda duration (p99), reconcile invocations and throttles',
        width: 24,
        left: [this.reconcileFunction, this.lifecycleFunction].map((f, i) =>
          f.metricDuration({ statistic: 'p99', label: i === 0 ? 'reconcile p99' : 'lifecycle p99' }),
        ),
        // Schedule (1/min) + alarm triggers + the NATs' failure hints: a NAT flooding hints shows here.
        right: [
          this.reconcileFunction.metricInvocations({ label: 'reconcile invocations', statistic: 'Sum' }),
          this.reconcileFunction.metricThrottles({ label: 'reconcile throttles', statistic: 'Sum' }),
        ],
      }),
    );
    return dashboard;
  }
}

/**
 * Renders an ARN the way cdk-nag names it in a finding id (`Resource::…`): intrinsic references
 * become `<Name>` / `<Resource.Attribute>`, so acknowledgements hold in any stack environment.
 */
export function renderForNag(stack: Stack, value: unknown): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('Ref' in o) return `<${String(o.Ref)}>`;
      if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
      if ('Fn::Join' in o) {
        const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(render).join(separator);
      }
    }
    return JSON.stringify(v);
  };
  return render(stack.resolve(value));
}

/**
 * NodejsFunction falls back to Docker when it cannot find esbuild; fail early instead, with the
 * fix, so synth never needs Docker.
 */
function assertLocalEsbuild(): void {
  try {
    createRequire(import.meta.url).resolve('esbuild');
  } catch {
    fail('esbuild is not installed; run `npm ci` (natbeat bundles its Lambdas locally and never uses Docker)');
  }
}
