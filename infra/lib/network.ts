/**
 * Where the NATs go and what they serve: the NAT subnets (one per Availability Zone) and the
 * private subnets whose route tables natbeat routes, tagged so the controller may change them.
 */
import { Annotations, Tags, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { fail, type NatBeatProps } from './settings';

export interface NatPlacement {
  /** Subnets the NATs launch in, one per zone. */
  readonly natSubnets: ec2.SelectedSubnets;
  /** Availability Zones of the NATs, in the order of `natSubnets`. */
  readonly zones: string[];
  /** Subnets whose route tables natbeat routes through the NATs. */
  readonly privateSubnets: ec2.SelectedSubnets;
}

/** An Elastic IP pinned to a zone without a NAT would never be used: say so at synth. */
export function checkElasticIpZones(elasticIps: Record<string, string>, zones: string[]): void {
  if (zones.some((z) => Token.isUnresolved(z))) return;
  for (const zone of Object.keys(elasticIps)) {
    if (!zones.includes(zone)) fail(`elasticIps pins an address to ${zone}, where no NAT runs (the NATs' zones: ${zones.join(', ')})`);
  }
}

/** Selects and checks the NAT and private subnets; tags the private route tables. */
export function placeNats(
  scope: Construct,
  props: Pick<NatBeatProps, 'vpc' | 'natSubnets' | 'privateSubnets'>,
  routeTableTag: { key: string; value: string },
): NatPlacement {
  const natSubnets = props.vpc.selectSubnets(props.natSubnets ?? { subnetType: ec2.SubnetType.PUBLIC, onePerAz: true });
  if (natSubnets.subnets.length === 0) fail('natSubnets selects no subnet');
  const zones = natSubnets.availabilityZones;
  const resolvedZones = zones.filter((z) => !Token.isUnresolved(z));
  if (new Set(resolvedZones).size !== resolvedZones.length) {
    fail(`natSubnets must hold one subnet per Availability Zone (got zones ${resolvedZones.join(', ')}); add onePerAz: true`);
  }
  if (!natSubnets.hasPublic) {
    Annotations.of(scope).addWarningV2('natbeat:natSubnetsNotPublic', 'natSubnets are not public subnets of this VPC: the NATs need a route to an internet gateway.');
  }
  const privateSubnets = props.vpc.selectSubnets(props.privateSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
  if (privateSubnets.subnets.length === 0) fail('privateSubnets selects no subnet: there is nothing to route through the NATs');
  tagRouteTables(scope, privateSubnets.subnets, routeTableTag);
  return { natSubnets, zones, privateSubnets };
}

/** Which NatBeat construct routes each route table of this app: a table has one writer. */
const claimedBy = new WeakMap<ec2.CfnRouteTable, string>();

/** Tags the route tables of the private subnets defined in this app; warns about the others. */
function tagRouteTables(scope: Construct, subnets: ec2.ISubnet[], tag: { key: string; value: string }): void {
  for (const subnet of subnets) {
    const routeTable = subnet.node.tryFindChild('RouteTable');
    if (routeTable instanceof ec2.CfnRouteTable) {
      const owner = claimedBy.get(routeTable);
      if (owner !== undefined && owner !== scope.node.path) {
        fail(`the route table of subnet ${subnet.node.path} is already routed by ${owner}: give each NatBeat its own privateSubnets`);
      }
      claimedBy.set(routeTable, scope.node.path);
      Tags.of(routeTable).add(tag.key, tag.value);
    } else {
      Annotations.of(scope).addWarningV2(
        'natbeat:untaggedRouteTable',
        `The route table of subnet ${subnet.node.path} is not defined in this app: tag it ${tag.key}=${tag.value} yourself, or natbeat will not route it.`,
      );
    }
  }
}
