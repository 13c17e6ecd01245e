import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTROLLER_NAMESPACE, ControllerMetric, controllerServiceName } from '../../common/controller-metrics';
import { HEARTBEAT_METRIC, heartbeatNamespace } from '../../common/heartbeat';
import { DEFAULT_PEER_PORT } from '../../common/intake-contract';
import { DEFAULT_CONFIG, ENV } from '../../lambdas/core/config';
import type { ExampleStack } from '../../infra/lib/example-stack';
import { DEPLOYMENT_TAG_KEY } from '../../infra/lib/settings';
import { buildExample, GROUP, ZONES } from './fixtures';

/** The example deployment's own heartbeat namespace (its id is its group's name). */
const HEARTBEAT_NAMESPACE = heartbeatNamespace(GROUP);
import { policyStatements, unscopedMutations } from './iam-walk';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a synthesized template is untyped JSON
type Json = any;
type Resource = { Type: string; Properties: Record<string, Json>; DependsOn?: string[] };

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
    expect(userData).toContain("'NATBEAT_HEARTBEAT_PERIOD=10'");
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
        [ENV.heartbeatPeriodSeconds]: '10',
        [ENV.dryRun]: 'false',
        [ENV.handoverDrainSeconds]: '300',
        POWERTOOLS_SERVICE_NAME: controllerServiceName(GROUP),
        POWERTOOLS_METRICS_NAMESPACE: CONTROLLER_NAMESPACE,
      });
      // Every variable the construct sets is one the controller reads (or Powertools/Node's).
      for (const name of Object.keys(env)) {
        expect([...Object.values(ENV), 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS']).toContain(name);
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

  it('reconciles every minute and on heartbeat alarm state changes', () => {
    const reconcileArn = { 'Fn::GetAtt': [logicalId(stack.natBeat.reconcileFunction), 'Arn'] };
    assertHas('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: reconcileArn })],
    });
    assertHas('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: {
          alarmName: ZONES.map((z) => `${GROUP}-ZoneHeartbeat-${z}`),
          state: { value: ['ALARM', 'OK'] },
        },
      },
      Targets: [Match.objectLike({ Arn: reconcileArn })],
    });
    assertCount('AWS::Events::Rule', 4);
  });

  it('invokes reconcile on the trigger alarms only, never on the paging ones', () => {
    const alarmRules = ofType('AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('aws.cloudwatch'));
    expect(alarmRules).toHaveLength(1);
    const pattern = alarmRules[0]![1].Properties.EventPattern;
    // Matched by name only: no resources/prefix clause that could let other alarms through.
    expect(Object.keys(pattern).sort()).toEqual(['detail', 'detail-type', 'source']);
    const names = pattern.detail.alarmName as string[];
    const alarmNames = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.AlarmName as string);
    // Every matched name is a deployed alarm, and every one of them is a ZoneHeartbeat trigger.
    for (const n of names) expect(alarmNames).toContain(n);
    expect(names.filter((n) => !n.startsWith(`${GROUP}-ZoneHeartbeat-`))).toEqual([]);
    expect(names.some((n) => n.includes('ZoneSilent'))).toBe(false);
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

  it('pages through an SNS topic encrypted with a rotating KMS key CloudWatch may use', () => {
    assertCount('AWS::SNS::Topic', 1);
    assertHas('AWS::KMS::Key', { EnableKeyRotation: true });
    assertHas('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    assertHas('AWS::KMS::Key', {
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

  describe('alarms', () => {
    const topicRef = () => ({ Ref: logicalId(stack.natBeat.alarmTopic as never) });
    const alarm = (name: string) => {
      const found = ofType('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.AlarmName === `${GROUP}-${name}`);
      if (!found) throw new Error(`no alarm named ${GROUP}-${name}`);
      return found![1].Properties;
    };

    const isTrigger = (a: Resource) => String(a.Properties.AlarmName).startsWith(`${GROUP}-ZoneHeartbeat-`);

    it('has six controller alarms and two per AZ; all but the zone triggers page the topic on ALARM and OK', () => {
      assertCount('AWS::CloudWatch::Alarm', 6 + 2 * ZONES.length);
      const all = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a);
      const paging = all.filter((a) => !isTrigger(a));
      expect(paging).toHaveLength(6 + ZONES.length);
      for (const a of paging) {
        expect(a.Properties.AlarmActions).toEqual([topicRef()]);
        expect(a.Properties.OKActions).toEqual([topicRef()]);
      }
      // The triggers fire at the first missed heartbeat: paging on them would be noise.
      const triggers = all.filter(isTrigger);
      expect(triggers).toHaveLength(ZONES.length);
      for (const a of triggers) {
        expect(a.Properties.AlarmActions ?? []).toEqual([]);
        expect(a.Properties.OKActions ?? []).toEqual([]);
        expect(a.Properties.InsufficientDataActions ?? []).toEqual([]);
      }
    });

    it('has exactly one high-resolution (sub-minute) alarm per AZ: each costs $0.30 a month', () => {
      const highResolution = ofType('AWS::CloudWatch::Alarm').filter(([, a]) => (a.Properties.Period as number | undefined) !== undefined && a.Properties.Period < 60);
      expect(highResolution).toHaveLength(ZONES.length);
      const perZone = ZONES.map((z) => highResolution.filter(([, a]) => a.Properties.AlarmName === `${GROUP}-ZoneHeartbeat-${z}`).length);
      expect(perZone).toEqual(ZONES.map(() => 1));
      // Metric-math alarms (controller errors) carry their periods inside Metrics: all 60 s.
      for (const [, a] of ofType('AWS::CloudWatch::Alarm')) {
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

    it('pages on controller errors: the Errors metric or either Lambda failing', () => {
      const a = alarm('ControllerErrors');
      expect(a).toMatchObject({ Threshold: 1, EvaluationPeriods: 5, DatapointsToAlarm: 3, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
      const names = (a.Metrics as { MetricStat?: { Metric: { MetricName: string } } }[])
        .flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric.MetricName] : []))
        .sort();
      expect(names).toEqual([ControllerMetric.Errors, 'Errors', 'Errors'].sort());
    });

    const dimensionsOf = (zone: string) => [
      { Name: 'AutoScalingGroupName', Value: GROUP },
      { Name: 'AvailabilityZone', Value: zone },
    ];

    it('triggers on each zone’s heartbeat at 10 s: one empty period or an explicit 0 alarms', () => {
      for (const zone of ZONES) {
        expect(alarm(`ZoneHeartbeat-${zone}`)).toMatchObject({
          Namespace: HEARTBEAT_NAMESPACE,
          MetricName: HEARTBEAT_METRIC,
          Dimensions: dimensionsOf(zone),
          Period: 10,
          Statistic: 'Minimum',
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
          // The first empty period, not the whole silence window: reconcile waits for that itself.
          EvaluationPeriods: 1,
          TreatMissingData: 'breaching',
        });
      }
    });

    it('pages per zone after 2 minutes without a healthy heartbeat, at standard resolution', () => {
      for (const zone of ZONES) {
        const a = alarm(`ZoneSilent-${zone}`);
        expect(a).toMatchObject({
          Namespace: HEARTBEAT_NAMESPACE,
          MetricName: HEARTBEAT_METRIC,
          Dimensions: dimensionsOf(zone),
          Period: 60,
          Statistic: 'Maximum',
          Threshold: 1,
          ComparisonOperator: 'LessThanThreshold',
          EvaluationPeriods: 2,
          TreatMissingData: 'breaching',
          AlarmActions: [topicRef()],
          OKActions: [topicRef()],
        });
        expect(a.AlarmDescription).toContain(`No healthy heartbeat from ${zone} for 2 minutes`);
        expect(a.AlarmDescription).toMatch(/natbeat has already moved its routes/);
      }
      // The old per-zone pair is gone.
      expect(ofType('AWS::CloudWatch::Alarm').filter(([, r]) => String(r.Properties.AlarmName).includes('ZoneFailing'))).toEqual([]);
    });
  });

  it('sends every trigger no run handled to one encrypted dead-letter queue, and pages on it', () => {
    const queue = { 'Fn::GetAtt': [logicalId(stack.natBeat.deadLetterQueue), 'Arn'] };
    assertHas('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    // The reconcile function (every trigger, the intake's included): a failed (thrown) or
    // expired asynchronous invocation lands there…
    expect(resources[logicalId(stack.natBeat.reconcileFunction)]!.Properties.DeadLetterConfig).toEqual({ TargetArn: queue });
    // …and so does every event EventBridge could not deliver: schedule, alarm fast path, both hooks.
    const rules = ofType('AWS::Events::Rule');
    expect(rules).toHaveLength(4);
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

  it('has a dashboard', () => {
    assertCount('AWS::CloudWatch::Dashboard', 1);
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
      const keyStatements = policyStatements(template.toJSON()).filter((f) => f.kind === 'key');
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

    it('lets the NAT publish metrics only in its deployment’s heartbeat namespace, read only its package, call only the intake', () => {
      const statements = natStatements();
      expect(statements.map((s) => s.Action).flat().sort()).toEqual(['cloudwatch:PutMetricData', 'lambda:InvokeFunction', 'lambda:InvokeFunctionUrl', 's3:GetObject']);
      expect(statements.find((s) => s.Action === 'cloudwatch:PutMetricData')!.Condition).toEqual({
        StringEquals: { 'cloudwatch:namespace': HEARTBEAT_NAMESPACE },
      });
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
      expect(permissions).toHaveLength(4);
    });

    it('gives the intake read-only membership checks and the reconcile wake-up, nothing more', () => {
      const bySid = statementsBySid();
      expect(bySid.get('CheckReporterIsAGroupMember')).toEqual([expect.objectContaining({ Action: 'autoscaling:DescribeAutoScalingInstances', Resource: '*' })]);
      const intake = resources[logicalId(stack.natBeat.intakeFunction)]!.Properties;
      expect(intake.Environment.Variables).toMatchObject({
        NATBEAT_NAT_ROLE_ARN: { 'Fn::GetAtt': [logicalId(stack.natBeat.instanceRole), 'Arn'] },
        NATBEAT_GROUP_NAMES: GROUP,
      });
      expect(intake.ReservedConcurrentExecutions).toBe(2);
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
