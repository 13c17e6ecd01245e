import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { NatBeat } from '../../infra/lib/natbeat';
import { buildExample } from './fixtures';

/** Runs the AwsSolutions pack on a synthesized app; returns every unacknowledged finding. */
function nagFindings(app: App) {
  app.synth();
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${(r as { constructPath?: string }).constructPath ?? r.resourceLogicalId}`),
  );
}

/** Every acknowledgement recorded in the tree: rule id → reason. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason }))),
  );
}

// Each test synthesizes a whole app; leave room when the full suite runs in parallel.
describe('cdk-nag AwsSolutions', { timeout: 90_000 }, () => {
  it('reports no unacknowledged finding on the example stack', () => {
    const { app } = buildExample();
    expect(nagFindings(app)).toEqual([]);
  });

  it('reports none with Elastic IPs, an existing topic, a key pair, Session Manager and an x86 instance type either', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Variant', { env: { region: 'eu-west-1' } });
    const vpc = natVpc(stack, ['eu-west-1a', 'eu-west-1b']);
    const topic = new sns.Topic(stack, 'Pager', { enforceSSL: true });
    Validations.of(topic).acknowledge({ id: 'AwsSolutions-SNS2', reason: 'Test topic standing in for one the user brings.' });
    new NatBeat(stack, 'NatBeat', {
      vpc,
      alarmTopic: topic,
      alarmEmail: 'ops@example.com',
      elasticIps: { 'eu-west-1a': 'eipalloc-0123456789abcdef0' },
      instanceType: new ec2.InstanceType('t3.nano'),
      keyPair: ec2.KeyPair.fromKeyPairName(stack, 'Key', 'ops'),
      sessionManager: true,
    });
    expect(nagFindings(app)).toEqual([]);
  });

  it('reports none with an encrypted alarm topic and the dashboard, and acknowledges nothing about the topic then', () => {
    const { app, stack } = buildExample({ props: { natBeat: { encryptTopic: true, dashboard: true } } });
    expect(nagFindings(app)).toEqual([]);
    expect(acknowledgements(stack.natBeat).filter((a) => a.id.includes('SNS'))).toEqual([]);
  });

  it('reports none in an environment-agnostic stack, whose zones and ARNs are tokens', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Agnostic');
    const vpc = natVpc(stack);
    const natBeat = new NatBeat(stack, 'NatBeat', { vpc });
    expect(natBeat.availabilityZones).toHaveLength(2);
    expect(nagFindings(app)).toEqual([]);
  });

  it('acknowledges each finding with a reason, and only the expected ones', () => {
    const { app } = buildExample();
    // aws-cdk-lib acknowledges a few of its own CloudFormation-Validate rules; ours are AwsSolutions.
    const acks = acknowledgements(app)
      .map((a) => ({ ...a, id: a.id.replace(/^Annotation::/, '') }))
      .filter((a) => a.id.startsWith('AwsSolutions-'));
    expect(acks.filter((a) => a.reason.length < 60).map((a) => `${a.path} ${a.id}`)).toEqual([]);
    const ids = [...new Set(acks.map((a) => a.id))].sort();
    expect(ids).toEqual(
      [
        'AwsSolutions-AS3',
        'AwsSolutions-DDB3',
        'AwsSolutions-EC23',
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:us-east-1:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/test-nat]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:us-east-1:<AWS::AccountId>:instance/*]',
        'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:us-east-1:<AWS::AccountId>:route-table/*]',
        'AwsSolutions-L1',
        // The unencrypted alarm topic (encryptTopic: false, the default), with its reason.
        'AwsSolutions-SNS2',
      ].sort(),
    );
  });
});

/** A VPC shaped as the construct expects (public + isolated subnets, no NAT gateway). */
function natVpc(stack: Stack, availabilityZones?: string[]): ec2.Vpc {
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    ...(availabilityZones ? { availabilityZones } : {}),
    natGateways: 0,
    subnetConfiguration: [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
    restrictDefaultSecurityGroup: false,
  });
  Validations.of(vpc).acknowledge({ id: 'AwsSolutions-VPC7', reason: 'Test VPC: flow logs are the example stack’s concern, not the construct’s.' });
  return vpc;
}
