/**
 * NatBeat: highly available NAT instances. One Auto Scaling group with one NAT per Availability
 * Zone, an agent on each NAT publishing a routing heartbeat, and a reconcile Lambda that moves the
 * private route tables' default routes to healthy NATs. Alarms page operators through an
 * encrypted SNS topic.
 *
 * The parts live in their own modules: network.ts (subnets, route table tags), nat-group.ts (the
 * NATs and their agent), controller.ts (the Lambdas and their triggers), alarm-topic.ts and
 * monitoring.ts (alarms, dashboard).
 */
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { createAlarmTopic } from './alarm-topic';
import { createController, reconcileFunctionIdentity, reconcileOnZoneAlarms } from './controller';
import { createAlarms, createDashboard, type MonitoringTarget, type NatBeatAlarms } from './monitoring';
import { createNatGroup } from './nat-group';
import { checkElasticIpZones, placeNats } from './network';
import { codeSource } from './bundles';
import { resolveSettings, type NatBeatProps } from './settings';

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
  /** Reconcile Lambda (schedule, zone heartbeat alarms and the NATs' failure hints). */
  public readonly reconcileFunction: lambda.Function;
  /** Lifecycle Lambda (Auto Scaling lifecycle events). */
  public readonly lifecycleFunction: lambda.Function;
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
    const code = codeSource(props.sourceRoot);
    this.groupName = settings.groupName;

    const placement = placeNats(this, props, settings.routeTableTag);
    this.availabilityZones = placement.zones;
    checkElasticIpZones(settings.elasticIps, placement.zones);
    const allowedCidrs = props.allowedCidrs ?? [props.vpc.vpcCidrBlock];

    const reconcile = reconcileFunctionIdentity(this, settings.groupName);
    const nats = createNatGroup(this, {
      vpc: props.vpc,
      natSubnets: placement.natSubnets.subnets,
      allowedCidrs,
      settings,
      code,
      reconcileFunction: reconcile,
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
      code,
      reconcileFunctionName: reconcile.name,
      dryRun: props.dryRun ?? false,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      autoScalingGroup: this.autoScalingGroup,
    });
    this.reconcileFunction = controller.reconcileFunction;
    this.lifecycleFunction = controller.lifecycleFunction;

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
      lifecycleFunction: this.lifecycleFunction,
    };
  }
}
