/**
 * NatBeat: highly available NAT instances. One Auto Scaling group with one NAT per Availability
 * Zone, an agent on each NAT publishing a routing heartbeat, and a reconcile Lambda that moves the
 * private route tables' default routes to healthy NATs. Alarms page operators through an
 * encrypted SNS topic.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { Annotations, ArnFormat, Aws, Duration, Names, RemovalPolicy, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
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
import { controllerServiceName } from '../../common/controller-metrics';
import { HEARTBEAT_NAMESPACE } from '../../common/heartbeat';
import { DEFAULT_CONFIG, ENV } from '../../lambdas/core/config';
import { LAUNCH_DETAIL_TYPE, TERMINATE_DETAIL_TYPE } from '../../lambdas/core/events';
import { FLAGS as AGENT_FLAGS } from '../../agent/config';
import { NODE_BUNDLE_OPTIONS } from '../../scripts/bundle-options';
import { AGENT_BUNDLE_FILE, AGENT_INSTALL_FILE, AgentAsset } from './agent-asset';
import { alarmName, createAlarms, createDashboard, type MonitoringTarget, type NatBeatAlarms } from './monitoring';
import {
  fail,
  GROUP_TAG_KEY,
  MANAGED_TAG_VALUE,
  NATBEAT_SOURCE_ROOT,
  reconcileFunctionName,
  resolveSettings,
  type NatBeatProps,
  type Settings,
} from './settings';

export {
  alarmPeriodFor,
  GROUP_TAG_KEY,
  MANAGED_TAG_VALUE,
  NATBEAT_SOURCE_ROOT,
  reconcileFunctionName,
  resolveSettings,
  type NatBeatProps,
} from './settings';

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
  public readonly alarms: NatBeatAlarms;
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
    // Keys are the agent's own flag twins, so the two cannot drift apart.
    const agentSettings: Record<string, string> = {
      [AGENT_FLAGS['group-name'].env]: settings.groupName,
      [AGENT_FLAGS.namespace.env]: HEARTBEAT_NAMESPACE,
      [AGENT_FLAGS['vpc-cidr'].env]: allowedCidrs.join(','),
      [AGENT_FLAGS['probe-target'].env]: probeTargets.join(','),
      [AGENT_FLAGS['heartbeat-period'].env]: String(settings.heartbeatSeconds),
      [AGENT_FLAGS.interval.env]: String(settings.probeIntervalSeconds),
      [AGENT_FLAGS.region.env]: Aws.REGION,
      [AGENT_FLAGS['reconcile-function'].env]: reconcileName,
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
      // Serialized like reconcile. Both write from a fresh snapshot and only what differs, so their
      // runs may overlap and still converge (the simulator's chaos tests run them side by side).
      reservedConcurrentExecutions: 1,
      timeout: Duration.seconds(60),
      // Level-triggered: a failed run is finished by the next reconcile, not by a retry.
      retryAttempts: 0,
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

    // One rule per hook, with the detail-types the lifecycle handler accepts.
    const lifecycleRules = [
      { id: 'LaunchLifecycleRule', what: 'launch', detailType: LAUNCH_DETAIL_TYPE, hookName: DEFAULT_CONFIG.launchHookName },
      { id: 'TerminateLifecycleRule', what: 'terminate', detailType: TERMINATE_DETAIL_TYPE, hookName: DEFAULT_CONFIG.terminateHookName },
    ].map(
      (hook) =>
        new events.Rule(this, hook.id, {
          description: `natbeat: ${hook.what} lifecycle actions of the NAT group`,
          eventPattern: {
            source: ['aws.autoscaling'],
            detailType: [hook.detailType],
            detail: { AutoScalingGroupName: [settings.groupName], LifecycleHookName: [hook.hookName] },
          },
          targets: [new targets.LambdaFunction(this.lifecycleFunction)],
        }),
    );
    // The rules and the function exist before the first NAT launches and waits in its hook.
    this.autoScalingGroup.node.addDependency(...lifecycleRules, this.lifecycleFunction);

    // --- Alarms ----------------------------------------------------------------------------------
    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      const created = this.createAlarmTopic(settings.groupName);
      this.alarmTopic = created.topic;
      this.alarmTopicKey = created.key;
    }
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.alarms = createAlarms(this.monitoringTarget(), settings);

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
          alarmName: this.availabilityZones.map((zone) => alarmName(this.groupName, `ZoneHeartbeat-${zone}`)),
          state: { value: ['ALARM', 'OK'] },
        },
      },
      targets: [new targets.LambdaFunction(this.reconcileFunction, { retryAttempts: 0 })],
    });

    if (props.dashboard ?? true) this.dashboard = createDashboard(this.monitoringTarget(), this.alarms, settings);
  }

  private monitoringTarget(): MonitoringTarget {
    return {
      scope: this,
      groupName: this.groupName,
      availabilityZones: this.availabilityZones,
      alarmTopic: this.alarmTopic,
      reconcileFunction: this.reconcileFunction,
      lifecycleFunction: this.lifecycleFunction,
    };
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
        banner: NODE_BUNDLE_OPTIONS.banner.js,
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
