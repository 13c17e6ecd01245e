/**
 * Two NatBeat deployments in one app and one VPC — groups `nat` and `nat-b`, a name that starts
 * with the other — never read, alarm on or write each other's resources.
 */
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { CONTROLLER_NAMESPACE } from '../../common/controller-metrics';
import { heartbeatNamespace } from '../../common/heartbeat';
import { REPORT_TABLE_ENV } from '../../common/report-store';
import { ENV } from '../../lambdas/core/config';
import { pagingAlarmNames } from '../../infra/lib/monitoring';
import { NatBeat } from '../../infra/lib/natbeat';
import { DEPLOYMENT_TAG_KEY } from '../../infra/lib/settings';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a synthesized template is untyped JSON
type Json = any;

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new Stack(app, 'Shared', { env: { region: 'us-east-1', account: '111111111111' } });
const vpc = new ec2.Vpc(stack, 'Vpc', {
  availabilityZones: ['us-east-1a', 'us-east-1b'],
  natGateways: 0,
  subnetConfiguration: [
    { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
    { name: 'private-a', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    { name: 'private-b', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  ],
});
// Encrypted topics: the key policies must keep the deployments apart as well as the topic policies.
const deployments = {
  nat: new NatBeat(stack, 'A', { vpc, groupName: 'nat', privateSubnets: { subnetGroupName: 'private-a' }, encryptTopic: true }),
  'nat-b': new NatBeat(stack, 'B', { vpc, groupName: 'nat-b', privateSubnets: { subnetGroupName: 'private-b' }, encryptTopic: true }),
};
const template = Template.fromStack(stack).toJSON();
const resources = template.Resources as Record<string, { Type: string; Properties: Json }>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const names = Object.keys(deployments) as (keyof typeof deployments)[];
const other = (name: keyof typeof deployments) => names.find((n) => n !== name)!;

/** A template value as text: the partition as `aws`, other references as `<LogicalId>`. */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value.Ref === 'AWS::Partition') return 'aws';
  if (value.Ref) return `<${value.Ref}>`;
  if (value['Fn::Join']) return (value['Fn::Join'][1] as Json[]).map(render).join(value['Fn::Join'][0]);
  return JSON.stringify(value);
}

/** Every statement of the identity policies attached to a role. */
function statementsOf(role: { node: { defaultChild?: unknown } }): Json[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === id(role)))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

describe('Two deployments in one app and one VPC', () => {
  it.each(names)('%s: its NATs may write no metrics; only its intake writes its report log, only its controller reads it', (name) => {
    expect(statementsOf(deployments[name].instanceRole).filter((s) => JSON.stringify(s.Action).includes('cloudwatch:'))).toEqual([]);
    expect(JSON.stringify(statementsOf(deployments[name].instanceRole))).not.toContain('dynamodb');
    const table = id(deployments[name].reportLog);
    const onOwnTable = (role: { node: { defaultChild?: unknown } }) =>
      statementsOf(role).filter((s) => JSON.stringify(s.Resource).includes(table)).flatMap((s) => ([] as string[]).concat(s.Action));
    expect(onOwnTable(deployments[name].intakeFunction.role as never)).toEqual(['dynamodb:PutItem']);
    expect(onOwnTable(deployments[name].reconcileFunction.role as never)).toEqual(['dynamodb:Query']);
    // Neither of its Lambdas names the other deployment's table.
    const theirs = id(deployments[other(name)].reportLog);
    for (const fn of [deployments[name].intakeFunction, deployments[name].reconcileFunction]) {
      expect(JSON.stringify(statementsOf(fn.role as never))).not.toContain(theirs);
      expect(resources[id(fn)]!.Properties.Environment.Variables[REPORT_TABLE_ENV]).toEqual({ Ref: table });
    }
  });

  it.each(names)('%s: its alarms read its own controller service and its own intake only', (name) => {
    // nat-b's alarm names also start with "nat-": keep only this deployment's by its construct path.
    const mine = ofType('AWS::CloudWatch::Alarm').filter(([logicalId]) => logicalId.startsWith(name === 'nat' ? 'A' : 'B'));
    expect(mine.map(([, a]) => a.Properties.AlarmName as string).sort()).toEqual(pagingAlarmNames(name).sort());
    const controllerAlarms = mine.filter(([, a]) => a.Properties.Namespace === CONTROLLER_NAMESPACE);
    expect(controllerAlarms.length).toBeGreaterThan(0);
    for (const [, alarm] of controllerAlarms) expect(alarm.Properties.Dimensions).toEqual([{ Name: 'service', Value: `natbeat-controller-${name}` }]);
    const intakeAlarms = mine.filter(([, a]) => a.Properties.Namespace === 'AWS/Lambda');
    expect(intakeAlarms.length).toBeGreaterThan(0);
    for (const [, alarm] of intakeAlarms) expect(alarm.Properties.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: id(deployments[name].intakeFunction) } }]);
  });

  it.each(names)('%s: its controller reads its own namespace and group, and selects its own tagged tables', (name) => {
    for (const fn of [deployments[name].reconcileFunction]) {
      const env = resources[id(fn)]!.Properties.Environment.Variables;
      expect(env).toMatchObject({
        [ENV.namespace]: heartbeatNamespace(name),
        [ENV.groupNames]: name,
        [ENV.routeTableTag]: `${DEPLOYMENT_TAG_KEY}=${name}`,
      });
    }
  });

  it('tags each private route table for exactly one deployment', () => {
    const tagsOf = (subnetGroup: string) =>
      vpc.selectSubnets({ subnetGroupName: subnetGroup }).subnets.map((subnet) => {
        const table = resources[stack.getLogicalId(subnet.node.findChild('RouteTable') as CfnElement)]!;
        return (table.Properties.Tags as { Key: string; Value: string }[]).filter((t) => t.Key === DEPLOYMENT_TAG_KEY).map((t) => t.Value);
      });
    expect(tagsOf('private-a')).toEqual([['nat'], ['nat']]);
    expect(tagsOf('private-b')).toEqual([['nat-b'], ['nat-b']]);
    expect(tagsOf('public')).toEqual([[], []]);
  });

  it.each(names)('%s: its controller may write only route tables with its own tag in this VPC, and only its own group', (name) => {
    const role = deployments[name].reconcileFunction.role as unknown as { node: { defaultChild?: unknown } };
    const statements = statementsOf(role);
    const routes = statements.find((s) => s.Sid === 'RouteOwnTaggedTablesInOwnVpc');
    expect(routes.Condition.StringEquals).toEqual({ [`aws:ResourceTag/${DEPLOYMENT_TAG_KEY}`]: name });
    expect(render(routes.Condition.ArnEquals['ec2:Vpc'])).toBe(`arn:aws:ec2:us-east-1:111111111111:vpc/<${id(vpc as never)}>`);
    const group = JSON.stringify(statements.find((s) => s.Sid === 'ActOnOwnGroup').Resource);
    expect(group).toMatch(new RegExp(`autoScalingGroupName/${name}"`));
    const nats = statements.find((s) => s.Sid === 'DisableSourceDestCheckOnOwnNats');
    expect(nats.Condition.StringEquals['aws:ResourceTag/aws:autoscaling:groupName']).toBe(name);
  });

  it.each(names)('%s: its alarm topic and key accept its own alarms by exact ARN, none of the other’s', (name) => {
    const ownTopic = id(deployments[name].alarmTopic as never);
    const [, topicPolicy] = ofType('AWS::SNS::TopicPolicy').find(([, p]) => JSON.stringify(p.Properties.Topics) === JSON.stringify([{ Ref: ownTopic }]))!;
    const publish = topicPolicy.Properties.PolicyDocument.Statement.find((s: Json) => s.Sid === 'AllowOwnAlarmsToPublish');
    const [, key] = ofType('AWS::KMS::Key').find(([logicalId]) => logicalId === id(deployments[name].alarmTopicKey!))!;
    const keyGrant = key.Properties.KeyPolicy.Statement.find((s: Json) => s.Sid === 'AllowCloudWatchAlarmsToUseKey');
    for (const statement of [publish, keyGrant]) {
      const arns = (statement.Condition.ArnEquals['aws:SourceArn'] as Json[]).map(render);
      expect(statement.Condition.StringEquals).toEqual({ 'aws:SourceAccount': '111111111111' });
      expect(arns.every((arn) => !arn.includes('*') && arn.startsWith(`arn:aws:cloudwatch:us-east-1:111111111111:alarm:${name}-`))).toBe(true);
      const alarmNames = ofType('AWS::CloudWatch::Alarm').map(([logicalId, a]) => ({ logicalId, name: a.Properties.AlarmName as string, actions: a.Properties.AlarmActions }));
      const theirs = alarmNames.filter((a) => a.logicalId.startsWith(name === 'nat' ? 'B' : 'A')).map((a) => `arn:aws:cloudwatch:us-east-1:111111111111:alarm:${a.name}`);
      expect(arns.filter((arn) => theirs.includes(arn))).toEqual([]);
      // Every alarm of this deployment that notifies its topic is listed, and nothing else.
      const paging = alarmNames
        .filter((a) => JSON.stringify(a.actions ?? []).includes(ownTopic))
        .map((a) => `arn:aws:cloudwatch:us-east-1:111111111111:alarm:${a.name}`);
      expect([...arns].sort()).toEqual(paging.sort());
    }
  });

  it.each(names)('%s: its lifecycle rules match its own group only', (name) => {
    const rules = ofType('AWS::Events::Rule').filter(([logicalId, r]) => logicalId.startsWith(name === 'nat' ? 'A' : 'B') && r.Properties.EventPattern);
    expect(rules).toHaveLength(2);
    for (const [, rule] of rules) expect(rule.Properties.EventPattern.detail.AutoScalingGroupName).toEqual([name]);
  });
});
