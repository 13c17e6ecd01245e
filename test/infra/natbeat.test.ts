import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTROLLER_NAMESPACE, ControllerMetric, controllerServiceName } from '../../common/controller-metrics';
import { DEFAULT_HEARTBEAT_PERIOD_SECONDS, HEARTBEAT_METRIC, heartbeatNamespace } from '../../common/heartbeat';
import { DEFAULT_PEER_PORT } from '../../common/intake-contract';
import { REPORT_KEY, REPORT_TABLE_ENV, REPORT_TTL_ATTRIBUTE } from '../../common/report-store';
import { DEFAULT_CONFIG, ENV } from '../../lambdas/core/config';
import type { ExampleStack } from '../../infra/lib/example-stack';
import { pagingAlarmNames } from '../../infra/lib/monitoring';
import { DEPLOYMENT_TAG_KEY } from '../../infra/lib/settings';
import { buildExample, GROUP, ZONES } from './fixtures';

/** The example deployment's own heartbeat namespace (its id is its group's name). */
const HEARTBEAT_NAMESPACE = heartbeatNamespace(GROUP);
import { policyStatements, unscopedMutations } from './iam-walk';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a synthesized template is untyped JSON
type Json = any;
type Resource = { Type: string; Properties: Record<string, Json>; DependsOn?: string[]; DeletionPolicy?: string };

let app: App;
let stack: ExampleStack;
let template: Template;
let resources: Record<string, Resource>;

/** Template assertions under names the lint rule counts as assertions. */
const assertHas = (type: string, props: Record<string, unknown>) => template.hasResourceProperties(type, props);
const assertCount = (type: string, count: number) => template.resourceCountIs(type, count);
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const alarmNamed = (name: string) => ofType('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.AlarmName === `${GROUP}-${name}`)?.[1].Properties;
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as Parameters<ExampleStack['getLogicalId']>[0]);

beforeAll(() => {
  // The one build of this file bundles for real (esbuild, locally): the assets are checked below.
  ({ app, stack } = buildExample({ bundle: true, props: { natBeat: { groupName: GROUP } } }));
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, Resource>;
});

describe('Construct: NatBeat in the example stack', { timeout: 90_000 }, () => {
  it('builds one VPC without NAT gateways, a public and a private subnet per AZ', () => {
    assertCount('AWS::EC2::VPC', 1);
    assertCount('AWS::EC2::NatGateway', 0);
    assertCount('AWS::EC2::Subnet', ZONES.length * 2);
    assertHas('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' });
    // The only routes CloudFormation writes are the public tables' internet gateway routes:
    // the private tables' default route is natbeat's, written at run time.
    const routes = ofType('AWS::EC2::Route');
    expect(routes).toHaveLength(ZONES.length);
    for (const [, route] of routes) expect(route.Properties.GatewayId).toBeDefined();
  });

  it('tags exactly the private route tables with its own deployment tag', () => {
    const tables = ofType('AWS::EC2::RouteTable');
    const tagged = tables.filter(([, t]) =>
      (t.Properties.Tags as { Key: string; Value: string }[]).some((tag) => tag.Key === DEPLOYMENT_TAG_KEY && tag.Value === GROUP),
    );
    expect(tables).toHaveLength(ZONES.length * 2);
    expect(tagged.map(([id]) => id).sort()).toEqual(tables.filter(([id]) => /private/i.test(id)).map(([id]) => id).sort());
    expect(tagged).toHaveLength(ZONES.length);
  });

  it('runs one NAT per AZ in the public subnets, tagged as managed, with a lifetime', () => {
    assertCount('AWS::AutoScaling::AutoScalingGroup', 1);
    assertHas('AWS::AutoScaling::AutoScalingGroup', {
      AutoScalingGroupName: GROUP,
      MinSize: String(ZONES.length),
      MaxSize: String(ZONES.length * 2),
      DesiredCapacity: Match.absent(),
      MaxInstanceLifetime: 14 * 86400,
      HealthCheckType: 'EC2',
      InstanceMaintenancePolicy: { MinHealthyPercentage: 100, MaxHealthyPercentage: 200 },
      VPCZoneIdentifier: stack.vpc.publicSubnets.map((s) => ({ Ref: logicalId(s) })),
      Tags: Match.arrayWith([{ Key: DEFAULT_CONFIG.groupTagKey, Value: 'true', PropagateAtLaunch: true }]),
    });
  });

  it('puts the launch and terminate hooks on the group itself, with their timeouts and results', () => {
    const [[, group]] = ofType('AWS::AutoScaling::AutoScalingGroup') as [[string, Resource]];
    const hooks = group.Properties.LifecycleHookSpecificationList as Record<string, unknown>[];
    const launch = hooks.find((h) => h.LifecycleHookName === DEFAULT_CONFIG.launchHookName);
    const terminate = hooks.find((h) => h.LifecycleHookName === DEFAULT_CONFIG.terminateHookName);
    expect(launch).toMatchObject({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', DefaultResult: 'ABANDON' });
    expect(terminate).toMatchObject({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', DefaultResult: 'CONTINUE' });
    expect(launch!.HeartbeatTimeout as number).toBeGreaterThan(DEFAULT_CONFIG.launchProofTimeoutSeconds);
    expect(terminate!.HeartbeatTimeout as number).toBeLessThan(launch!.HeartbeatTimeout as number);
    for (const hook of [launch!, terminate!]) {
      expect(hook.HeartbeatTimeout as number).toBeGreaterThanOrEqual(30);
      expect(hook.HeartbeatTimeout as number).toBeLessThanOrEqual(7200);
    }
    // The lifecycle rules and the function they target exist before the first NAT waits in its launch hook.
    const dependsOn = group.DependsOn ?? [];
    expect(dependsOn).toEqual(expect.arrayContaining([logicalId(stack.natBeat.reconcileFunction)]));
    expect(dependsOn.filter((d) => resources[d]?.Type === 'AWS::Events::Rule')).toHaveLength(2);
  });

  it('launches Amazon Linux 2023 arm64 t4g.nano with IMDSv2 required and metadata tags on', () => {
    assertHas('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 't4g.nano',
        MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' },
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true, DeviceIndex: 0 })],
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
        KeyName: Match.absent(),
      }),
    });
    const parameters = template.toJSON().Parameters as Record<string, { Type: string; Default: string }>;
    expect(Object.values(parameters).map((p) => p.Default)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64');
  });

  it('installs the agent from its asset in user data, with the VPC range and group', () => {
    const [[, lt]] = ofType('AWS::EC2::LaunchTemplate') as [[string, Resource]];
    const userData = JSON.stringify(lt.Properties.LaunchTemplateData.UserData);
    expect(userData).toMatch(/set -euo pipefail/);
    expect(userData).toMatch(/aws s3 cp 's3:\/\//);
    expect(userData).toMatch(/bash \/opt\/natbeat\/package\/install\.sh \/opt\/natbeat\/package\/natbeat-agent\.mjs/);
    expect(userData).toContain(`'NATBEAT_GROUP_NAME=${GROUP}'`);
    expect(userData).toContain(`'NATBEAT_HEARTBEAT_PERIOD=${DEFAULT_HEARTBEAT_PERIOD_SECONDS}'`);
    expect(userData).toContain('NATBEAT_VPC_CIDR=');
    expect(userData).toContain('NATBEAT_PROBE_TARGET=');
  });

  it('tells the agent the intake’s Function URL to report a failed probe to, and nothing of the reconcile function', () => {
    const [[, lt]] = ofType('AWS::EC2::LaunchTemplate') as [[string, Resource]];
    const userData = JSON.stringify(lt.Properties.LaunchTemplateData.UserData);
    const [[urlId, url]] = ofType('AWS::Lambda::Url') as [[string, Resource]];
    expect(url.Properties).toMatchObject({ AuthType: 'AWS_IAM', TargetFunctionArn: { 'Fn::GetAtt': [logicalId(stack.natBeat.intakeFunction), 'Arn'] } });
    expect(userData).toContain(`'NATBEAT_REPORT_URL=",`);
    expect(userData).toContain(JSON.stringify({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] }));
    expect(userData).not.toContain('NATBEAT_RECONCILE_FUNCTION');
    expect(JSON.stringify(lt)).not.toContain(logicalId(stack.natBeat.reconcileFunction));
  });

  it('lets traffic into the NATs from the VPC range only, VXLAN (handover) and peer probes from its own NATs, and no SSH from anywhere', () => {
    const groups = ofType('AWS::EC2::SecurityGroup').filter(([id]) => id.startsWith('NatBeat'));
    expect(groups).toHaveLength(1);
    const ingress = groups[0]![1].Properties.SecurityGroupIngress as Record<string, unknown>[];
    const vpcCidr = { 'Fn::GetAtt': [logicalId(stack.vpc), 'CidrBlock'] };
    expect(ingress.map(({ CidrIp, IpProtocol, FromPort, ToPort }) => ({ CidrIp, IpProtocol, FromPort, ToPort }))).toEqual([
      { CidrIp: vpcCidr, IpProtocol: 'tcp', FromPort: 0, ToPort: 65535 },
      { CidrIp: vpcCidr, IpProtocol: 'udp', FromPort: 0, ToPort: 4788 },
      { CidrIp: vpcCidr, IpProtocol: 'udp', FromPort: 4790, ToPort: 65535 },
      { CidrIp: vpcCidr, IpProtocol: 'icmp', FromPort: -1, ToPort: -1 },
    ]);
    // From the group itself (its own NATs), never from a CIDR: VXLAN (handover) and the peer witness's UDP 4799.
    const itself = { 'Fn::GetAtt': [groups[0]![0], 'GroupId'] };
    const self = ofType('AWS::EC2::SecurityGroupIngress').map(([, rule]) => rule.Properties as Record<string, unknown>);
    expect(self).toEqual([
      expect.objectContaining({ IpProtocol: 'udp', FromPort: 4789, ToPort: 4789, GroupId: itself, SourceSecurityGroupId: itself }),
      expect.objectContaining({ IpProtocol: 'udp', FromPort: DEFAULT_PEER_PORT, ToPort: DEFAULT_PEER_PORT, GroupId: itself, SourceSecurityGroupId: itself }),
    ]);
    for (const rule of self) expect(Object.keys(rule).filter((key) => key.startsWith('Cidr'))).toEqual([]);
  });

  it('deploys the reconcile Lambda as a Node.js 22 arm64 ESM bundle with the controller settings', () => {
    assertCount('AWS::Lambda::Function', 2);
    for (const fn of [stack.natBeat.reconcileFunction]) {
      const props = resources[logicalId(fn)]!.Properties;
      expect(props).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
      const env = props.Environment.Variables as Record<string, string>;
      expect(env).toMatchObject({
        [ENV.groupTagKey]: DEFAULT_CONFIG.groupTagKey,
        [ENV.groupNames]: GROUP,
        [ENV.routeTableTag]: `${DEPLOYMENT_TAG_KEY}=${GROUP}`,
        [ENV.namespace]: HEARTBEAT_NAMESPACE,
        [ENV.launchHookName]: DEFAULT_CONFIG.launchHookName,
        [ENV.terminateHookName]: DEFAULT_CONFIG.terminateHookName,
        [ENV.launchProofTimeoutSeconds]: String(DEFAULT_CONFIG.launchProofTimeoutSeconds),
        [ENV.heartbeatPeriodSeconds]: String(DEFAULT_HEARTBEAT_PERIOD_SECONDS),
        [ENV.dryRun]: 'false',
        [ENV.handoverDrainSeconds]: '300',
        POWERTOOLS_SERVICE_NAME: controllerServiceName(GROUP),
        POWERTOOLS_METRICS_NAMESPACE: CONTROLLER_NAMESPACE,
      });
      // The report log it reads.
      expect(env[REPORT_TABLE_ENV]).toEqual({ Ref: logicalId(stack.natBeat.reportLog) });
      // Every variable the construct sets is one the controller reads (or Powertools/Node's).
      for (const name of Object.keys(env)) {
        expect([...Object.values(ENV), REPORT_TABLE_ENV, 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS']).toContain(name);
      }
    }
    // The one writer is serialized and does not retry (the next reconcile finishes what a run left).
    for (const fn of [stack.natBeat.reconcileFunction]) {
      expect(resources[logicalId(fn)]!.Properties.ReservedConcurrentExecutions).toBe(1);
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(fn) },
        MaximumRetryAttempts: 0,
      });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
  });

  it('bundles the Lambdas and the agent package locally at synth', () => {
    const dir = app.synth().directory;
    const assets = readdirSync(dir).filter((d) => d.startsWith('asset.')).map((d) => path.join(dir, d));
    const withFile = (file: string) => assets.filter((a) => existsSync(path.join(a, file)));
    expect(withFile('index.mjs')).toHaveLength(2);
    expect(withFile('natbeat-agent.mjs')).toHaveLength(1);
    const agent = withFile('natbeat-agent.mjs')[0]!;
    expect(existsSync(path.join(agent, 'install.sh'))).toBe(true);
    expect(existsSync(path.join(agent, 'natbeat-agent.service'))).toBe(true);
  });

  it('reconciles every minute; no alarm invokes it (heartbeats are not in CloudWatch)', () => {
    const reconcileArn = { 'Fn::GetAtt': [logicalId(stack.natBeat.reconcileFunction), 'Arn'] };
    assertHas('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: reconcileArn })],
    });
    // The schedule and the two lifecycle rules: nothing listens to alarm state changes.
    assertCount('AWS::Events::Rule', 3);
    const alarmRules = ofType('AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('aws.cloudwatch'));
    expect(alarmRules).toEqual([]);
  });

  it('sends the group’s lifecycle actions to the reconcile Lambda: one serialized route writer', () => {
    const lifecycleArn = { 'Fn::GetAtt': [logicalId(stack.natBeat.reconcileFunction), 'Arn'] };
    for (const [detailType, hook] of [
      ['EC2 Instance-launch Lifecycle Action', DEFAULT_CONFIG.launchHookName],
      ['EC2 Instance-terminate Lifecycle Action', DEFAULT_CONFIG.terminateHookName],
    ] as const) {
      assertHas('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.autoscaling'],
          'detail-type': [detailType],
          detail: { AutoScalingGroupName: [GROUP], LifecycleHookName: [hook] },
        },
        Targets: [Match.objectLike({ Arn: lifecycleArn })],
      });
    }
  });

  it('pages through an SNS topic only its own alarms may publish to, unencrypted by default', () => {
    assertCount('AWS::SNS::Topic', 1);
    assertCount('AWS::KMS::Key', 0);
    expect(ofType('AWS::SNS::Topic')[0]![1].Properties.KmsMasterKeyId).toBeUndefined();
    assertHas('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() }, StringEquals: { 'aws:SourceAccount': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('with encryptTopic, encrypts the topic with a rotating KMS key CloudWatch may use for its own alarms only', () => {
    const { stack: encrypted } = buildExample({ props: { natBeat: { groupName: GROUP, encryptTopic: true } } });
    const t = Template.fromStack(encrypted);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            // Only for this deployment's own alarms (the confused-deputy guard).
            Condition: { ArnEquals: { 'aws:SourceArn': Match.anyValue() }, StringEquals: { 'aws:SourceAccount': Match.anyValue() } },
          }),
        ]),
      },
    });
    expect(encrypted.natBeat.alarmTopicKey).toBeDefined();
  });

  describe('alarms', () => {
    const topicRef = () => ({ Ref: logicalId(stack.natBeat.alarmTopic as never) });
    const alarm = (name: string) => {
      const found = ofType('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.AlarmName === `${GROUP}-${name}`);
      if (!found) throw new Error(`no alarm named ${GROUP}-${name}`);
      return found![1].Properties;
    };

    it('has seven fleet-wide alarms, none per zone, and every one pages the topic on ALARM and OK', () => {
      assertCount('AWS::CloudWatch::Alarm', 7);
      const all = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
      expect(all.map((a) => a.AlarmName as string).sort()).toEqual(pagingAlarmNames(GROUP).sort());
      for (const a of all) {
        expect(a.AlarmActions).toEqual([topicRef()]);
        expect(a.OKActions).toEqual([topicRef()]);
        expect(ZONES.some((z) => String(a.AlarmName).includes(z))).toBe(false);
      }
    });

    it('reads no heartbeat metric and has no high-resolution alarm: each would cost $0.30 a month', () => {
      const text = JSON.stringify(ofType('AWS::CloudWatch::Alarm'));
      expect(text).not.toContain(HEARTBEAT_METRIC);
      expect(text).not.toContain(HEARTBEAT_NAMESPACE);
      for (const [, a] of ofType('AWS::CloudWatch::Alarm')) {
        if (a.Properties.Period !== undefined) expect(a.Properties.Period).toBeGreaterThanOrEqual(60);
        // Metric-math alarms (controller errors) carry their periods inside Metrics.
        for (const m of (a.Properties.Metrics ?? []) as { MetricStat?: { Period: number } }[]) {
          if (m.MetricStat) expect(m.MetricStat.Period).toBeGreaterThanOrEqual(60);
        }
      }
    });

    const controller = { Namespace: CONTROLLER_NAMESPACE, Dimensions: [{ Name: 'service', Value: controllerServiceName(GROUP) }] };

    it('pages when a zone has had no same-AZ NAT for 3 minutes', () => {
      expect(alarm('ZoneWithoutSameAzNat')).toMatchObject({
        ...controller,
        MetricName: ControllerMetric.TablesWithoutSameAzNat,
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 3,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it('pages at once when no NAT is left anywhere', () => {
      expect(alarm('NoNatAnywhere')).toMatchObject({
        ...controller,
        MetricName: ControllerMetric.TablesWithoutAnyNat,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    });

    it("has a dead-man's switch on ReconcileRuns where missing data breaches", () => {
      expect(alarm('ReconcileStopped')).toMatchObject({
        ...controller,
        MetricName: ControllerMetric.ReconcileRuns,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: 5,
        TreatMissingData: 'breaching',
      });
    });

    it('pages when the safety valve trips', () => {
      expect(alarm('SafetyValveTripped')).toMatchObject({
        ...controller,
        MetricName: ControllerMetric.SafetyValveTrips,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    });

    it('pages on controller errors: the Errors metric, reconcile failing, or the intake answering 5xx', () => {
      const a = alarm('ControllerErrors');
      expect(a).toMatchObject({ Threshold: 1, EvaluationPeriods: 5, DatapointsToAlarm: 3, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      const metrics = (a.Metrics as { MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: Json[] } } }[]).flatMap((m) =>
        m.MetricStat ? [m.MetricStat.Metric] : [],
      );
      expect(metrics.map((m) => m.MetricName).sort()).toEqual([ControllerMetric.Errors, 'Errors', 'Url5xxCount'].sort());
      // The 5xx count is the intake's (its own 500/503 answers are no Lambda error).
      const url5xx = metrics.find((m) => m.MetricName === 'Url5xxCount')!;
      expect(url5xx.Namespace).toBe('AWS/Lambda');
      expect(url5xx.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: logicalId(stack.natBeat.intakeFunction) } }]);
    });

    it('pages when the intake throttles heartbeats in 3 of 5 minutes', () => {
      expect(alarm('IntakeThrottled')).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.natBeat.intakeFunction) } }],
        Statistic: 'Sum',
        Period: 60,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
      });
    });
  });

  it('sends every trigger no run handled to one encrypted dead-letter queue, and pages on it', () => {
    const queue = { 'Fn::GetAtt': [logicalId(stack.natBeat.deadLetterQueue), 'Arn'] };
    assertHas('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    // The reconcile function (every trigger, the intake's included): a failed (thrown) or
    // expired asynchronous invocation lands there…
    expect(resources[logicalId(stack.natBeat.reconcileFunction)]!.Properties.DeadLetterConfig).toEqual({ TargetArn: queue });
    // …and so does every event EventBridge could not deliver: the schedule and both hooks.
    const rules = ofType('AWS::Events::Rule');
    expect(rules).toHaveLength(3);
    for (const [, rule] of rules) {
      for (const target of rule.Properties.Targets as Json[]) expect(target.DeadLetterConfig).toEqual({ Arn: queue });
    }
    expect(alarmNamed('ControllerDeadLetters')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.natBeat.deadLetterQueue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [{ Ref: logicalId(stack.natBeat.alarmTopic as never) }],
    });
  });

  it('has no dashboard unless asked: an account’s fourth dashboard costs $3 a month', () => {
    assertCount('AWS::CloudWatch::Dashboard', 0);
    const { stack: withDashboard } = buildExample({ props: { natBeat: { groupName: GROUP, dashboard: true } } });
    const body = JSON.stringify(Template.fromStack(withDashboard).findResources('AWS::CloudWatch::Dashboard'));
    expect(withDashboard.natBeat.dashboard).toBeDefined();
    // It shows the report path and every paging alarm, and no heartbeat metric.
    const alarmIds = Object.values(withDashboard.natBeat.alarms).map((a) => withDashboard.getLogicalId(a.node.defaultChild as Parameters<ExampleStack['getLogicalId']>[0]));
    expect(alarmIds).toHaveLength(pagingAlarmNames(GROUP).length);
    for (const shown of ['UrlRequestCount', 'Url5xxCount', 'Throttles', ...alarmIds]) expect(body).toContain(shown);
    expect(body).not.toContain(HEARTBEAT_METRIC);
  });

  describe('IAM', () => {
    const statementsBySid = () => {
      const bySid = new Map<string, Record<string, unknown>[]>();
      for (const { statement } of policyStatements(template.toJSON())) {
        const sid = String(statement.Sid ?? '');
        bySid.set(sid, [...(bySid.get(sid) ?? []), statement]);
      }
      return bySid;
    };

    it('has no mutating action on Resource "*" without a Condition, in any policy', () => {
      const found = policyStatements(template.toJSON());
      expect(found.length).toBeGreaterThan(10);
      expect(unscopedMutations(found)).toEqual([]);
    });

    it('has key policies (where "*" is the key itself) open only to the account and CloudWatch', () => {
      // The only key is the alarm topic's, with encryptTopic.
      expect(policyStatements(template.toJSON()).filter((f) => f.kind === 'key')).toEqual([]);
      const { stack: encrypted } = buildExample({ props: { natBeat: { groupName: GROUP, encryptTopic: true } } });
      const keyStatements = policyStatements(Template.fromStack(encrypted).toJSON()).filter((f) => f.kind === 'key');
      expect(keyStatements.length).toBeGreaterThan(0);
      for (const { statement } of keyStatements) {
        const principal = JSON.stringify(statement.Principal);
        expect(principal).toMatch(/:root"|"cloudwatch\.amazonaws\.com"/);
      }
    });

    const natStatements = () => {
      const role = logicalId(stack.natBeat.instanceRole);
      const policies = ofType('AWS::IAM::Policy').filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role));
      return policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, Json>[]);
    };

    it('lets the NAT read only its package and call only the intake: no CloudWatch, no DynamoDB', () => {
      const statements = natStatements();
      expect(statements.map((s) => s.Action).flat().sort()).toEqual(['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl', 's3:GetObject']);
      expect(JSON.stringify(statements.find((s) => s.Action === 's3:GetObject')!.Resource)).toMatch(/\.zip"/);
      // No managed policy at all (AmazonSSMManagedInstanceCore would allow ssm:GetParameter(s) on "*").
      assertHas('AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'ec2.amazonaws.com' } })] }),
        ManagedPolicyArns: Match.absent(),
      });
    });

    it('lets the NAT call the intake’s URL (AWS_IAM only, through the URL only) and invoke nothing else', () => {
      const invoke = natStatements().filter((s) => ([] as string[]).concat(s.Action).some((a) => a.startsWith('lambda:')));
      const intakeArn = { 'Fn::GetAtt': [logicalId(stack.natBeat.intakeFunction), 'Arn'] };
      expect(invoke).toEqual([
        expect.objectContaining({ Effect: 'Allow', Action: 'lambda:InvokeFunctionUrl', Resource: intakeArn, Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } } }),
        expect.objectContaining({ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: intakeArn, Condition: { Bool: { 'lambda:InvokedViaFunctionUrl': true } } }),
      ]);
      // The reconcile function is named nowhere in the NAT's policies.
      const reconcile = logicalId(stack.natBeat.reconcileFunction);
      const deployedName = resources[reconcile]!.Properties.FunctionName as string;
      expect(JSON.stringify(natStatements())).not.toContain(reconcile);
      expect(JSON.stringify(natStatements())).not.toContain(deployedName);
    });

    it('lets only the intake’s role and this stack’s rules invoke the reconcile function', () => {
      const reconcile = logicalId(stack.natBeat.reconcileFunction);
      const reconcileArn = { 'Fn::GetAtt': [reconcile, 'Arn'] };
      const invokers = ofType('AWS::IAM::Policy')
        .flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as Record<string, Json>[]).map((s) => ({ s, roles: JSON.stringify(p.Properties.Roles) })))
        .filter(({ s }) => ([] as string[]).concat(s.Action).includes('lambda:InvokeFunction') && JSON.stringify(s.Resource) === JSON.stringify(reconcileArn));
      expect(invokers).toHaveLength(1);
      expect(invokers[0]!.s.Sid).toBe('WakeReconcile');
      expect(invokers[0]!.roles).toContain('IntakeRole');
      const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(reconcile));
      expect(permissions.map(([, p]) => p.Properties.Principal)).toEqual(permissions.map(() => 'events.amazonaws.com'));
      expect(permissions).toHaveLength(3);
    });

    it('gives the intake read-only look-ups, append-only access to the report log and the reconcile wake-up, nothing more', () => {
      const bySid = statementsBySid();
      const table = logicalId(stack.natBeat.reportLog);
      expect(bySid.get('CheckReporterIsAGroupMember')).toEqual([expect.objectContaining({ Action: 'autoscaling:DescribeAutoScalingInstances', Resource: '*' })]);
      expect(bySid.get('ListPeersReadOnly')).toEqual([expect.objectContaining({ Action: ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances'], Resource: '*' })]);
      expect(bySid.get('AppendToReportLog')).toEqual([expect.objectContaining({ Action: 'dynamodb:PutItem', Resource: { 'Fn::GetAtt': [table, 'Arn'] } })]);
      const intakeRole = logicalId(stack.natBeat.intakeFunction.role as never);
      const intakePolicies = ofType('AWS::IAM::Policy').filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === intakeRole));
      const actions = intakePolicies.flatMap(([, p]) => (p.Properties.PolicyDocument.Statement as Record<string, Json>[]).flatMap((s) => ([] as string[]).concat(s.Action)));
      expect(actions.sort()).toEqual([
        'autoscaling:DescribeAutoScalingGroups',
        'autoscaling:DescribeAutoScalingInstances',
        'dynamodb:PutItem',
        'ec2:DescribeInstances',
        'lambda:InvokeFunction',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ]);
      const intake = resources[logicalId(stack.natBeat.intakeFunction)]!.Properties;
      expect(intake.Environment.Variables).toMatchObject({
        NATBEAT_NAT_ROLE_ARN: { 'Fn::GetAtt': [logicalId(stack.natBeat.instanceRole), 'Arn'] },
        NATBEAT_GROUP_NAMES: GROUP,
        [REPORT_TABLE_ENV]: { Ref: table },
      });
      // One slot per NAT the group can hold: two per zone.
      expect(intake.ReservedConcurrentExecutions).toBe(ZONES.length * 2);
      // JSON lines, platform lines only at WARN: no START/END/REPORT per heartbeat.
      expect(intake.LoggingConfig).toEqual({ LogFormat: 'JSON', SystemLogLevel: 'WARN', ApplicationLogLevel: 'INFO', LogGroup: { Ref: expect.stringMatching(/IntakeLogs/) } });
    });

    it('keeps the report log on demand with a TTL, keyed as the intake and controller expect, and lets the controller only Query it', () => {
      const table = resources[logicalId(stack.natBeat.reportLog)]!;
      expect(table.Type).toBe('AWS::DynamoDB::Table');
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: REPORT_KEY.partition, KeyType: 'HASH' },
          { AttributeName: REPORT_KEY.sort, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: REPORT_KEY.partition, AttributeType: 'S' },
          { AttributeName: REPORT_KEY.sort, AttributeType: 'S' },
        ],
        TimeToLiveSpecification: { AttributeName: REPORT_TTL_ATTRIBUTE, Enabled: true },
      });
      // Soft state: it goes with the stack.
      expect(table.DeletionPolicy).toBe('Delete');
      const bySid = statementsBySid();
      expect(bySid.get('ReadReportLog')).toEqual([expect.objectContaining({ Action: 'dynamodb:Query', Resource: { 'Fn::GetAtt': [logicalId(stack.natBeat.reportLog), 'Arn'] } })]);
      // Nobody else may touch it.
      const onTable = policyStatements(template.toJSON()).filter(({ statement }) => String(JSON.stringify(statement.Resource)).includes(logicalId(stack.natBeat.reportLog)));
      expect(onTable.map(({ statement }) => statement.Sid).sort()).toEqual(['AppendToReportLog', 'ReadReportLog']);
      // The controller no longer reads heartbeat metrics.
      expect(JSON.stringify(template.toJSON())).not.toContain('cloudwatch:GetMetricData');
      expect(JSON.stringify(template.toJSON())).not.toContain('cloudwatch:PutMetricData');
    });

    it('scopes the controller’s writes to its group, tagged route tables and its own NATs', () => {
      const bySid = statementsBySid();
      const one = (sid: string) => {
        const list = bySid.get(sid) ?? [];
        expect(list.map(() => sid)).toEqual([sid]); // the reconcile role only
        return list[0]!;
      };
      expect(one('ObserveReadOnly').Resource).toBe('*');
      expect(JSON.stringify(one('ActOnOwnGroup').Resource)).toContain(`:autoScalingGroup:*:autoScalingGroupName/${GROUP}`);
      expect(one('ActOnOwnGroup').Action).toEqual(['autoscaling:SetInstanceHealth', 'autoscaling:CompleteLifecycleAction']);
      expect(one('RouteOwnTaggedTablesInOwnVpc')).toMatchObject({
        Action: ['ec2:CreateRoute', 'ec2:ReplaceRoute'],
        Condition: {
          StringEquals: { [`aws:ResourceTag/${DEPLOYMENT_TAG_KEY}`]: GROUP },
        },
      });
      // …and its own VPC's ARN: a table tagged by mistake in another VPC stays out of reach.
      const vpcCondition = JSON.stringify((one('RouteOwnTaggedTablesInOwnVpc') as Json).Condition.ArnEquals['ec2:Vpc']);
      expect(vpcCondition).toContain(':vpc/');
      expect(vpcCondition).toContain(JSON.stringify({ Ref: logicalId(stack.vpc as never) }));
      expect(JSON.stringify(one('RouteOwnTaggedTablesInOwnVpc').Resource)).toContain(':route-table/*');
      // Only the source/destination check, and only to turn it off.
      expect(one('DisableSourceDestCheckOnOwnNats')).toMatchObject({
        Action: 'ec2:ModifyInstanceAttribute',
        Condition: { StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': GROUP, 'ec2:Attribute/SourceDestCheck': 'false' } },
      });
      // No Elastic IPs configured: no AssociateAddress at all.
      expect(bySid.has('AssociatePinnedAddresses')).toBe(false);
      const readOnly = one('ObserveReadOnly').Action as string[];
      for (const action of readOnly) expect(action).toMatch(/:(Describe|Get)/);
    });

    it('gives the Lambdas their own log group only, not AWSLambdaBasicExecutionRole', () => {
      const bySid = statementsBySid();
      for (const s of bySid.get('WriteOwnLogs') ?? []) {
        expect(s.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Logs/), 'Arn'] });
      }
      expect(bySid.get('WriteOwnLogs')).toHaveLength(2); // reconcile and intake
      expect(JSON.stringify(template.toJSON())).not.toContain('AWSLambdaBasicExecutionRole');
    });
  });
});
