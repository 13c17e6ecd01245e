import { App, type CfnElement, Duration, Lazy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PEER_PORT } from '../../common/intake-contract';
import { alarmPeriodFor, NatBeat, type NatBeatProps, reconcileFunctionName } from '../../infra/lib/natbeat';

function vpcStack(subnets?: ec2.SubnetConfiguration[]) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { region: 'us-east-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    natGateways: 0,
    subnetConfiguration: subnets ?? [
      { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    ],
  });
  return { stack, vpc };
}

function build(props: Partial<NatBeatProps> = {}, subnets?: ec2.SubnetConfiguration[]) {
  const { stack, vpc } = vpcStack(subnets);
  const natBeat = new NatBeat(stack, 'NatBeat', { vpc, groupName: 'g', ...props });
  return { stack, natBeat };
}

describe('Construct: NatBeat prop validation', () => {
  it.each<[string, Partial<NatBeatProps>, RegExp]>([
    ['a launch hook no longer than the proof timeout', { launchProofTimeout: Duration.minutes(10), launchHookTimeout: Duration.minutes(10) }, /launchHookTimeout \(600 s\) must exceed launchProofTimeout/],
    ['a launch hook beyond the Auto Scaling maximum', { launchHookTimeout: Duration.hours(3) }, /launchHookTimeout must be from 30 to 7200 s \(got 10800 s\)/],
    ['a proof timeout near the hook maximum with the default margin', { launchProofTimeout: Duration.seconds(7200) }, /launchHookTimeout \(7200 s\) must exceed/],
    ['a terminate hook under 30 s', { terminateHookTimeout: Duration.seconds(10) }, /terminateHookTimeout must be from 30 to 7200 s/],
    ['a silence window no longer than the heartbeat period', { heartbeatPeriod: Duration.seconds(30) }, /silenceWindow \(25 s\) must exceed heartbeatPeriod \(30 s\)/],
    ['a fractional heartbeat period', { heartbeatPeriod: Duration.millis(1500) }, /heartbeatPeriod must be a whole number of seconds/],
    ['a probe interval longer than the heartbeat period', { probeInterval: Duration.seconds(20) }, /probeInterval must be from 0.2 to 5 s, at most the heartbeat period \(got 20 s\)$/],
    ['a probe interval of 50 ms', { probeInterval: Duration.millis(50) }, /^NatBeat: probeInterval must be from 0.2 to 5 s, at most the heartbeat period \(got 0.05 s\)$/],
    ['a heartbeat slack that reaches the silence window', { heartbeatPeriod: Duration.seconds(10), heartbeatSlack: Duration.seconds(15) }, /heartbeatPeriod \(10 s\) \+ heartbeatSlack \(15 s\) must stay below silenceWindow \(25 s\)/],
    ['a heartbeat slack of 0', { heartbeatSlack: Duration.seconds(0) }, /heartbeatSlack must be from 1 to 60 s \(got 0 s\)/],
    ['a heartbeat period beyond what the controller accepts', { heartbeatPeriod: Duration.seconds(301), silenceWindow: Duration.seconds(900) }, /heartbeatPeriod must be from 1 to 300 s \(got 301 s\)/],
    ['a lifetime under one day', { maxInstanceLifetime: Duration.hours(12) }, /maxInstanceLifetime must be from 1 to 365 days/],
    ['an unhealthy share above 1', { maxUnhealthyShare: 1.5 }, /maxUnhealthyShare must be from 0 to 1/],
    ['a fractional failback count', { failbackHeartbeats: 2.5 }, /failbackHeartbeats must be a whole number/],
    ['an allocation id that is not one', { elasticIps: { 'us-east-1a': 'eip-123' } }, /elasticIps\["us-east-1a"\] must be an allocation id/],
    ['an Elastic IP for a zone without a NAT', { elasticIps: { 'us-east-1c': 'eipalloc-0123abcd' } }, /elasticIps pins an address to us-east-1c, where no NAT runs \(the NATs' zones: us-east-1a, us-east-1b\)/],
    ['an Elastic IP keyed by something else than a zone', { elasticIps: { 'US East': 'eipalloc-0123abcd' } }, /elasticIps key "US East"/],
    ['an empty route table tag value', { routeTableTag: { key: 'network', value: '' } }, /routeTableTag needs/],
    ['an alarm delay that is not whole minutes', { zoneWithoutNatAlarmAfter: Duration.seconds(90) }, /zoneWithoutNatAlarmAfter must be a whole number of minutes/],
    ['a dead-man delay of one minute', { reconcileStoppedAlarmAfter: Duration.minutes(1) }, /reconcileStoppedAlarmAfter must be a whole number of minutes from 2/],
    ['an e-mail address without @', { alarmEmail: 'ops.example.com' }, /alarmEmail must be an e-mail address/],
    ['a probe target without a port', { probeTargets: ['example.com'] }, /probeTargets entry "example.com" must be host:port/],
    ['no probe target', { probeTargets: [] }, /probeTargets must not be empty/],
    ['no allowed range', { allowedCidrs: [] }, /allowedCidrs must not be empty/],
    ['a group name with spaces', { groupName: 'my nat' }, /groupName must be/],
    ['the whole internet as an allowed range', { allowedCidrs: ['0.0.0.0/0'] }, /allowedCidrs entry "0\.0\.0\.0\/0" is not a private range.*allowNonPrivateCidrs/],
    ['a public allowed range', { allowedCidrs: ['10.0.0.0/16', '203.0.113.0/24'] }, /allowedCidrs entry "203\.0\.113\.0\/24" is not a private range/],
    ['a range that only starts private', { allowedCidrs: ['172.0.0.0/8'] }, /allowedCidrs entry "172\.0\.0\.0\/8" is not a private range/],
    ['a malformed allowed range', { allowedCidrs: ['10.0.0.1/16'] }, /allowedCidrs entry "10\.0\.0\.1\/16" is not an IPv4 CIDR block/],
    ['a terminate hook shorter than the handover drain', { handoverDrain: Duration.minutes(5), terminateHookTimeout: Duration.minutes(5) }, /terminateHookTimeout \(300 s\) must exceed handoverDrain \(300 s\) by at least 60 s/],
    ['a drain over an hour', { handoverDrain: Duration.minutes(61) }, /handoverDrain must be from 0 to 3600/],
  ])('throws at synth on %s', (_what, props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  it('throws when the NAT subnets hold two subnets of one zone', () => {
    expect(() =>
      build({ natSubnets: { subnetType: ec2.SubnetType.PUBLIC } }, [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'public2', subnetType: ec2.SubnetType.PUBLIC },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ]),
    ).toThrow(/one subnet per Availability Zone/);
  });

  it('throws when there is no private subnet to serve', () => {
    expect(() => build({}, [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }])).toThrow(/Isolated/);
  });

  it('accepts the defaults', () => {
    expect(() => build()).not.toThrow();
  });

  it('accepts private ranges (RFC 1918 and 100.64/10), and a public one only when explicitly allowed', { timeout: 90_000 }, () => {
    expect(() => build({ allowedCidrs: ['10.0.0.0/16', '172.31.0.0/16', '192.168.1.0/24', '100.64.0.0/16'] })).not.toThrow();
    const { stack } = build({ allowedCidrs: ['0.0.0.0/0'], allowNonPrivateCidrs: true });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ CidrIp: '0.0.0.0/0' })]),
    });
  });

  it('refuses a second NatBeat on route tables another one already routes (one writer per table)', () => {
    const { stack, vpc } = vpcStack();
    new NatBeat(stack, 'First', { vpc, groupName: 'first' });
    expect(() => new NatBeat(stack, 'Second', { vpc, groupName: 'second' })).toThrow(
      /the route table of subnet Test\/Vpc\/privateSubnet1 is already routed by Test\/First: give each NatBeat its own privateSubnets/,
    );
  });
});

describe('Construct: NatBeat on the instance', { timeout: 90_000 }, () => {
  const natRole = (stack: Stack, natBeat: NatBeat) => {
    const roleId = stack.getLogicalId(natBeat.instanceRole.node.defaultChild as CfnElement);
    const policies = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as { Sid: string; Action: string | string[] }[]);
  };

  it('grants no Systems Manager action unless Session Manager is asked for, and then only its five', () => {
    const off = build();
    expect(JSON.stringify(natRole(off.stack, off.natBeat))).not.toMatch(/ssm|ec2messages/);
    const on = build({ sessionManager: true });
    const statement = natRole(on.stack, on.natBeat).find((s) => s.Sid === 'SessionManagerOnly');
    expect(statement?.Action).toEqual([
      'ssm:UpdateInstanceInformation',
      'ssmmessages:CreateControlChannel',
      'ssmmessages:CreateDataChannel',
      'ssmmessages:OpenControlChannel',
      'ssmmessages:OpenDataChannel',
    ]);
    // No managed policy either way (AmazonSSMManagedInstanceCore would allow ssm:GetParameter(s) on "*").
    for (const { stack, natBeat } of [off, on]) {
      const role = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(natBeat.instanceRole.node.defaultChild as CfnElement)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('requires IMDSv2 tokens with a hop limit of 1', () => {
    const { stack } = build();
    const [launchTemplate] = Object.values(Template.fromStack(stack).findResources('AWS::EC2::LaunchTemplate'));
    expect(launchTemplate?.Properties.LaunchTemplateData.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 1, InstanceMetadataTags: 'enabled' });
  });
});

describe('Construct: NatBeat settings', { timeout: 90_000 }, () => {
  it('picks the smallest alarm period that holds one heartbeat', () => {
    expect([1, 10, 11, 20, 25, 30, 31, 60, 61].map(alarmPeriodFor)).toEqual([10, 10, 20, 20, 30, 30, 60, 60, 120]);
  });

  it('derives the controller settings from the heartbeat props, and no alarm from them', () => {
    const { stack } = build({ heartbeatPeriod: Duration.seconds(30), silenceWindow: Duration.seconds(90), dryRun: true });
    const template = Template.fromStack(stack);
    // Heartbeats are in the report log: no alarm reads them, whatever their period.
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'))).not.toMatch(/ZoneHeartbeat|ZoneSilent/);
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: {
        Environment: {
          Variables: Match.objectLike({ NATBEAT_HEARTBEAT_PERIOD_SECONDS: '30', NATBEAT_SILENCE_SECONDS: '90', NATBEAT_DRY_RUN: 'true' }),
        },
      },
    });
    expect(Object.keys(functions)).toHaveLength(1); // the reconcile function, the only one with controller settings
  });

  it('passes the heartbeat slack to the controller', () => {
    const { stack } = build({ heartbeatSlack: Duration.seconds(5) });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: Match.objectLike({ NATBEAT_HEARTBEAT_SLACK_SECONDS: '5' }) } },
    });
    expect(Object.keys(functions)).toHaveLength(1);
  });

  it('names the reconcile function after the group, within Lambda’s 64 characters', () => {
    expect(reconcileFunctionName('natbeat-nat')).toBe('natbeat-nat-reconcile');
    const long = reconcileFunctionName('x'.repeat(120));
    expect(long).toMatch(/^x+-[0-9a-f]{8}-reconcile$/);
    expect(long).toHaveLength(64);
    // Dots are valid in group names, not in function names; the hash keeps a.b and a-b apart.
    expect(reconcileFunctionName('a.b')).toMatch(/^a-b-[0-9a-f]{8}-reconcile$/);
    expect(reconcileFunctionName('a.b')).not.toBe(reconcileFunctionName('a-b'));
    expect(reconcileFunctionName('a.b')).not.toBe(reconcileFunctionName('a,b'));
  });

  it('with a group name known only at deploy time, names the function from the construct path', () => {
    const { stack } = build({ groupName: Lazy.string({ produce: () => 'late' }) });
    const template = Template.fromStack(stack);
    const fn = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('observe NATs') } }));
    expect(fn).toHaveLength(1);
    const name = (fn[0] as { Properties: { FunctionName: string } }).Properties.FunctionName;
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(name.endsWith('-reconcile')).toBe(true);
  });

  it('grants AssociateAddress only on the pinned allocations and its own NATs’ interfaces', () => {
    const { stack } = build({ elasticIps: { 'us-east-1a': 'eipalloc-0123456789abcdef0' } });
    const template = Template.fromStack(stack);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument.Statement,
    );
    const associate = statements.filter((s) => s.Action === 'ec2:AssociateAddress');
    expect(associate).toHaveLength(2); // two statements in the reconcile role
    const pinned = associate.find((s) => s.Sid === 'AssociatePinnedAddresses')!;
    expect(JSON.stringify(pinned.Resource)).toContain(':elastic-ip/eipalloc-0123456789abcdef0');
    const own = associate.find((s) => s.Sid === 'AssociateAddressToOwnNats')!;
    expect(own.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/natbeat:group': 'g' } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { NATBEAT_ELASTIC_IPS: 'g/us-east-1a=eipalloc-0123456789abcdef0' } },
    });
  });

  it('uses an x86 Amazon Linux 2023 image for an x86 instance type', () => {
    const { stack } = build({ instanceType: new ec2.InstanceType('t3.nano') });
    const parameters = Template.fromStack(stack).toJSON().Parameters as Record<string, { Default: string }>;
    expect(Object.values(parameters).map((p) => p.Default)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64');
  });

  it('hands flows over by default: drain 300 s, terminate hook 420 s, CreateTags of the one tag key on its own NATs only', () => {
    const template = Template.fromStack(build().stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { NATBEAT_HANDOVER_DRAIN_SECONDS: '300' } } });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LifecycleHookSpecificationList: Match.arrayWith([Match.objectLike({ LifecycleHookName: 'natbeat-terminate', HeartbeatTimeout: 420 })]),
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument.Statement,
    );
    const tagging = statements.filter((s) => s.Action === 'ec2:CreateTags');
    expect(tagging).toHaveLength(1); // in the one controller role
    expect(tagging[0]!.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': 'g' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['natbeat:handover-from'] },
    });
    expect(JSON.stringify(template.findResources('AWS::EC2::LaunchTemplate'))).not.toContain('NATBEAT_NO_HANDOVER');
  });

  it('with handoverDrain 0: no tagging, the agents told so, all traffic from the VPC and no VXLAN rule (the peer probe rule stays)', () => {
    const template = Template.fromStack(build({ handoverDrain: Duration.seconds(0) }).stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { NATBEAT_HANDOVER_DRAIN_SECONDS: '0' } } });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LifecycleHookSpecificationList: Match.arrayWith([Match.objectLike({ LifecycleHookName: 'natbeat-terminate', HeartbeatTimeout: 120 })]),
    });
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('ec2:CreateTags');
    expect(JSON.stringify(template.findResources('AWS::EC2::LaunchTemplate'))).toContain('NATBEAT_NO_HANDOVER=true');
    // The one rule from the group itself is the peer witness's, not VXLAN.
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { IpProtocol: 'udp', FromPort: DEFAULT_PEER_PORT, ToPort: DEFAULT_PEER_PORT, SourceSecurityGroupId: Match.anyValue() });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { SecurityGroupIngress: [Match.objectLike({ IpProtocol: '-1' })] });
  });

  it('adds a key pair only when asked, and still no SSH rule', () => {
    const { stack } = vpcStack();
    const vpc = stack.node.findChild('Vpc') as ec2.Vpc;
    new NatBeat(stack, 'NatBeat', { vpc, keyPair: ec2.KeyPair.fromKeyPairName(stack, 'Key', 'ops') });
    const template = Template.fromStack(stack);
    expect(JSON.stringify(template.findResources('AWS::EC2::LaunchTemplate'))).toContain('"KeyName":"ops"');
    const text = JSON.stringify(template.findResources('AWS::EC2::SecurityGroup'));
    expect(text).not.toContain('"FromPort":22');
    expect(text).not.toContain('0.0.0.0/0"},"IpProtocol":"tcp"');
  });
});

describe('Document: docs/settings.md', () => {
  it('has a row for every construct prop, and the defaults of the security-relevant ones', async () => {
    const { readFile } = await import('node:fs/promises');
    const docs = await readFile(new URL('../../docs/settings.md', import.meta.url), 'utf8');
    const source = await readFile(new URL('../../infra/lib/settings.ts', import.meta.url), 'utf8');
    const body = source.slice(source.indexOf('export interface NatBeatProps {'), source.indexOf('\n}\n', source.indexOf('export interface NatBeatProps {')));
    const props = [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((m) => m[1]);
    expect(props.length).toBeGreaterThan(25);
    for (const prop of props) expect(docs).toMatch(new RegExp(`\\| \`${prop}\` \\| `));
    expect(docs).toContain('| `routeTableTag` | `natbeat:deployment=<group>` |');
    expect(docs).toContain('| `allowNonPrivateCidrs` | false |');
    expect(docs).toContain('| `sessionManager` | false |');
  });
});

describe('NatBeat props: pinned Elastic IPs', () => {
  it('rejects one allocation pinned to two zones at synth, naming both', () => {
    expect(() => build({ elasticIps: { 'us-east-1a': 'eipalloc-0123456789abcdef0', 'us-east-1b': 'eipalloc-0123456789abcdef0' } })).toThrow(
      /elasticIps pins eipalloc-0123456789abcdef0 to both us-east-1a and us-east-1b: pin each address to one zone/,
    );
  });
});
