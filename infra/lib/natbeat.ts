/**
 * NatBeat: highly available NAT instances. One Auto Scaling group with one NAT per Availability
 * Zone, an agent on each NAT publishing a routing heartbeat, and a reconcile Lambda that moves the
 * private route tables' default routes to healthy NATs. Alarms page operators through an
 * encrypted SNS topic.
 *
 * The parts live in their own modules: network.ts (subnets, route table tags), nat-group.ts (the
 * NATs and their agent), controller.ts (the reconcile Lambda and its triggers), intake.ts (the
 * NATs' authenticated report path), alarm-topic.ts and monitoring.ts (alarms, dashboard).
 */
import { Lazy } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { createAlarmTopic } from './alarm-topic';
import { createController, reconcileFunctionNameFor, reconcileOnZoneAlarms } from './controller';
import { createIntake } from './intake';
import { createAlarms, createDashboard, type MonitoringTarget, type NatBeatAlarms } from './monitoring';
import { createNatGroup } from './nat-group';
import { placeNats } from './network';
import { NATBEAT_SOURCE_ROOT, resolveSettings, type NatBeatProps } from './settings';

export {
  alarmPeriodFor,
  GROUP_TAG_KEY,
  MANAGED_TAG_VALUE,
  NATBEAT_SOURCE_ROOT,
  reconcileFunctionName,
  resolveSettings,
  type NatBeatProps,
} from './settings';
export { renderForNag } from './controller-permissions';

export class NatBeat extends Construct {
  /** The NATs' Auto Scaling group (one NAT per AZ). */
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** Name of the Auto Scaling group. */
  public readonly groupName: string;
  /** The NATs' security group. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The NATs' instance role. */
  public readonly instanceRole: iam.Role;
  /** Reconcile Lambda, the only route writer (schedule, zone heartbeat alarms, lifecycle actions, verified self-reports). */
  public readonly reconcileFunction: nodejs.NodejsFunction;
  /** Intake Lambda: the NATs' authenticated report path (Function URL, AWS_IAM). */
  public readonly intakeFunction: nodejs.NodejsFunction;
  /** The intake's Function URL, given to the agents. */
  public readonly intakeUrl: string;
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

    const placement = placeNats(this, props, settings.routeTableTag);
    this.availabilityZones = placement.zones;
    const allowedCidrs = props.allowedCidrs ?? [props.vpc.vpcCidrBlock];

    const nats = createNatGroup(this, {
      vpc: props.vpc,
      natSubnets: placement.natSubnets.subnets,
      allowedCidrs,
      settings,
      sourceRoot,
      // The intake needs the NAT role first; its URL reaches user data once both exist.
      reportUrl: Lazy.string({ produce: () => this.intakeUrl }),
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      keyPair: props.keyPair,
      probeTargets: props.probeTargets,
    });
    this.securityGroup = nats.securityGroup;
    this.instanceRole = nats.instanceRole;
    this.autoScalingGroup = nats.autoScalingGroup;

    const controller = createController(this, {
      settings,
      sourceRoot,
      reconcileFunctionName: reconcileFunctionNameFor(this, settings.groupName),
      dryRun: props.dryRun ?? false,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      autoScalingGroup: this.autoScalingGroup,
    });
    this.reconcileFunction = controller.reconcileFunction;
    const intake = createIntake(this, {
      settings,
      sourceRoot,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      natRole: this.instanceRole,
      reconcileFunction: this.reconcileFunction,
    });
    this.intakeFunction = intake.function;
    this.intakeUrl = intake.url.url;

    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      const created = createAlarmTopic(this, settings.groupName);
      this.alarmTopic = created.topic;
      this.alarmTopicKey = created.key;
    }
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.alarms = createAlarms(this.monitoringTarget(), settings);
    reconcileOnZoneAlarms(this, this.groupName, this.availabilityZones, this.reconcileFunction);

    if (props.dashboard ?? true) this.dashboard = createDashboard(this.monitoringTarget(), this.alarms, settings);
  }

  private monitoringTarget(): MonitoringTarget {
    return {
      scope: this,
      groupName: this.groupName,
      availabilityZones: this.availabilityZones,
      alarmTopic: this.alarmTopic,
      reconcileFunction: this.reconcileFunction,
      intakeFunction: this.intakeFunction,
    };
  }
}
