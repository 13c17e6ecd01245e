/**
 * NatBeat: highly available NAT instances. One Auto Scaling group with one NAT per Availability
 * Zone, an agent on each NAT publishing a routing heartbeat, and a reconcile Lambda that moves the
 * private route tables' default routes to healthy NATs. Alarms page operators through an SNS
 * topic.
 *
 * The parts live in their own modules: network.ts (subnets, route table tags), nat-group.ts (the
 * NATs and their agent), controller.ts (the reconcile Lambda and its triggers), intake.ts (the
 * NATs' authenticated report path), report-log.ts (the table of what they said), alarm-topic.ts and monitoring.ts (alarms, dashboard).
 */
import { Lazy } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { createAlarmTopic } from './alarm-topic';
import { createController, reconcileFunctionNameFor } from './controller';
import { createIntake } from './intake';
import { createAlarms, createDashboard, type MonitoringTarget, type NatBeatAlarms } from './monitoring';
import { createNatGroup, maxNats } from './nat-group';
import { createReportLog } from './report-log';
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
  /** The only CloudWatch namespace this deployment's NATs may write: their heartbeats. */
  public readonly heartbeatNamespace: string;
  /** The tag that marks this deployment's private route tables (and limits what its controller may change). */
  public readonly routeTableTag: { readonly key: string; readonly value: string };
  /** The NATs' security group. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The NATs' instance role. */
  public readonly instanceRole: iam.Role;
  /** Reconcile Lambda, the only route writer (schedule, lifecycle actions, the intake's verified reports). */
  public readonly reconcileFunction: lambda.Function;
  /** Intake Lambda: the NATs' authenticated report path (Function URL, AWS_IAM). */
  public readonly intakeFunction: lambda.Function;
  /** The intake's Function URL, given to the agents. */
  public readonly intakeUrl: string;
  /** The report log: what the NATs said (heartbeats, witness reports); the intake writes, the controller reads. */
  public readonly reportLog: dynamodb.Table;
  /** Trigger events no controller run handled (the reconcile function and every rule target); it pages. */
  public readonly deadLetterQueue: sqs.Queue;
  /** Topic every natbeat alarm notifies. */
  public readonly alarmTopic: sns.ITopic;
  /** Key encrypting the alarm topic, when natbeat created the topic with `encryptTopic`. */
  public readonly alarmTopicKey?: kms.Key;
  /** Every alarm, by purpose. */
  public readonly alarms: NatBeatAlarms;
  /** Availability Zones of the NATs. */
  public readonly availabilityZones: string[];
  /** The dashboard, with `dashboard: true`. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: NatBeatProps) {
    super(scope, id);
    const settings = resolveSettings(this, props);
    const code = codeSource(props.sourceRoot);
    this.groupName = settings.groupName;
    this.heartbeatNamespace = settings.heartbeatNamespace;
    this.routeTableTag = settings.routeTableTag;

    const placement = placeNats(this, props, settings.routeTableTag);
    this.availabilityZones = placement.zones;
    // Explicit ranges were checked by resolveSettings (private only, unless allowed).
    checkElasticIpZones(settings.elasticIps, placement.zones);
    const allowedCidrs = props.allowedCidrs ?? [props.vpc.vpcCidrBlock];

    const nats = createNatGroup(this, {
      vpc: props.vpc,
      natSubnets: placement.natSubnets.subnets,
      allowedCidrs,
      settings,
      code,
      // The intake needs the NAT role first; its URL reaches user data once both exist.
      reportUrl: Lazy.string({ produce: () => this.intakeUrl }),
      instanceType: props.instanceType,
      machineImage: props.machineImage,
      keyPair: props.keyPair,
      probeTargets: props.probeTargets,
      sessionManager: props.sessionManager,
    });
    this.securityGroup = nats.securityGroup;
    this.instanceRole = nats.instanceRole;
    this.autoScalingGroup = nats.autoScalingGroup;

    const reportLog = createReportLog(this);
    this.reportLog = reportLog;
    const controller = createController(this, {
      settings,
      code,
      reconcileFunctionName: reconcileFunctionNameFor(this, settings.groupName),
      dryRun: props.dryRun ?? false,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      autoScalingGroup: this.autoScalingGroup,
      reportLog,
    });
    this.reconcileFunction = controller.reconcileFunction;
    this.deadLetterQueue = controller.deadLetterQueue;
    const intake = createIntake(this, {
      settings,
      code,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      natRole: this.instanceRole,
      reconcileFunction: this.reconcileFunction,
      reportLog,
      maxNats: maxNats(placement.zones.length),
    });
    this.intakeFunction = intake.function;
    this.intakeUrl = intake.url.url;

    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      const created = createAlarmTopic(this, settings.groupName, props.encryptTopic ?? false);
      this.alarmTopic = created.topic;
      this.alarmTopicKey = created.key;
    }
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    this.alarms = createAlarms(this.monitoringTarget(), settings);

    if (props.dashboard ?? false) this.dashboard = createDashboard(this.monitoringTarget(), this.alarms);
  }

  private monitoringTarget(): MonitoringTarget {
    return {
      scope: this,
      groupName: this.groupName,
      availabilityZones: this.availabilityZones,
      alarmTopic: this.alarmTopic,
      reconcileFunction: this.reconcileFunction,
      intakeFunction: this.intakeFunction,
      deadLetterQueue: this.deadLetterQueue,
    };
  }
}
