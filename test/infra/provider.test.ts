import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PEER_PORT } from '../../common/intake-contract';
import { NatBeatProvider } from '../../infra/lib/index';

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];

function stack() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'Test', { env: { region: 'us-east-1' } });
}

describe('Construct: NatBeatProvider', { timeout: 90_000 }, () => {
  it('puts one NAT per zone in the VPC, tags the private tables and writes no default route for them', () => {
    const s = stack();
    const provider = NatBeatProvider.instances({ groupName: 'p' });
    new ec2.Vpc(s, 'Vpc', { availabilityZones: ZONES, natGatewayProvider: provider });
    const template = Template.fromStack(s);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { AutoScalingGroupName: 'p', MinSize: '3' });
    // Only the public subnets' routes to the internet gateway.
    template.resourceCountIs('AWS::EC2::Route', ZONES.length);
    template.allResourcesProperties('AWS::EC2::Route', { GatewayId: Match.anyValue() });
    const privateTables = Object.entries(template.findResources('AWS::EC2::RouteTable')).filter(([id]) => id.includes('Private'));
    expect(privateTables).toHaveLength(ZONES.length);
    for (const [, table] of privateTables) {
      expect((table as { Properties: { Tags: unknown[] } }).Properties.Tags).toContainEqual({ Key: 'natbeat:deployment', Value: 'p' });
    }
    expect(provider.natBeat.availabilityZones).toEqual(ZONES);
    expect(provider.configuredGateways).toEqual([]);
    expect(provider.connections.securityGroups).toEqual([provider.natBeat.securityGroup]);
    // The peer witness's probes between the NATs: UDP 4799 from the NATs' own group.
    const [groupId] = Object.keys(template.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('natbeat NAT') } }));
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'udp',
      FromPort: DEFAULT_PEER_PORT,
      ToPort: DEFAULT_PEER_PORT,
      GroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [groupId, 'GroupId'] },
    });
  });

  it('warns when the VPC places fewer NATs than it has zones', () => {
    const s = stack();
    new ec2.Vpc(s, 'Vpc', { availabilityZones: ZONES, natGateways: 1, natGatewayProvider: NatBeatProvider.instances({ groupName: 'p' }) });
    const warnings = Annotations.fromStack(s).findWarning('*', Match.stringLikeRegexp('No NAT in us-east-1b, us-east-1c'));
    expect(warnings).toHaveLength(1);
  });

  it('says what to do when read before a VPC used it, or given to two VPCs', () => {
    const provider = NatBeatProvider.instances();
    expect(() => provider.natBeat).toThrow(/pass it to an ec2.Vpc \(natGatewayProvider\) before reading natBeat/);
    const s = stack();
    new ec2.Vpc(s, 'One', { availabilityZones: ZONES, natGatewayProvider: provider });
    expect(() => new ec2.Vpc(s, 'Two', { availabilityZones: ZONES, natGatewayProvider: provider })).toThrow(/one provider serves one VPC/);
  });
});
