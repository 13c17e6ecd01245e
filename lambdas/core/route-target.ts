/**
 * What a default route leads to, and whether it is this deployment's to change. natbeat writes a
 * managed table's 0.0.0.0/0 route only when it is missing, blackholed, or leads to a NAT of this
 * deployment (serving, leaving, or gone from its group); anything else (an internet gateway, a NAT
 * gateway, a transit gateway, a peering connection, someone else's instance…) was put there by
 * someone else, and overwriting it would fight them every minute or loop traffic.
 */
import type { RouteTarget } from './types';

export type RouteTargetKind =
  | 'instance'
  | 'network-interface'
  | 'nat-gateway'
  | 'internet-gateway'
  | 'virtual-private-gateway'
  | 'gateway-endpoint'
  | 'gateway'
  | 'transit-gateway'
  | 'peering-connection'
  | 'carrier-gateway'
  | 'local-gateway'
  | 'core-network'
  | 'egress-only-internet-gateway'
  | 'unknown';

function gatewayKind(id: string): RouteTargetKind {
  if (id.startsWith('igw-')) return 'internet-gateway';
  if (id.startsWith('vgw-')) return 'virtual-private-gateway';
  if (id.startsWith('vpce-')) return 'gateway-endpoint';
  return 'gateway';
}

/** The route's target as a kind and an id, e.g. `{ kind: 'transit-gateway', id: 'tgw-0123' }`. */
export function describeRouteTarget(target: RouteTarget): { kind: RouteTargetKind; id: string } {
  if (target.instanceId) return { kind: 'instance', id: target.instanceId };
  if (target.networkInterfaceId) return { kind: 'network-interface', id: target.networkInterfaceId };
  if (target.natGatewayId) return { kind: 'nat-gateway', id: target.natGatewayId };
  if (target.gatewayId) return { kind: gatewayKind(target.gatewayId), id: target.gatewayId };
  if (target.transitGatewayId) return { kind: 'transit-gateway', id: target.transitGatewayId };
  if (target.vpcPeeringConnectionId) return { kind: 'peering-connection', id: target.vpcPeeringConnectionId };
  if (target.carrierGatewayId) return { kind: 'carrier-gateway', id: target.carrierGatewayId };
  if (target.localGatewayId) return { kind: 'local-gateway', id: target.localGatewayId };
  if (target.coreNetworkArn) return { kind: 'core-network', id: target.coreNetworkArn };
  if (target.egressOnlyInternetGatewayId) return { kind: 'egress-only-internet-gateway', id: target.egressOnlyInternetGatewayId };
  return { kind: 'unknown', id: 'unknown' };
}

export type RouteOwner =
  /** Missing, blackholed, or a NAT of this deployment: natbeat may write it. */
  | { owner: 'ours' }
  /** An instance whose owner could not be read in this run: left as it is until the next. */
  | { owner: 'unresolved'; id: string }
  /** Someone else's route: never written. */
  | { owner: 'foreign'; kind: RouteTargetKind; id: string };

/**
 * Whose route this is, for a route that does not point at a NAT the managed groups list now (the
 * caller checks those first). `formerNats`: instances (or their interfaces) the groups launched
 * and no longer list, and dead targets.
 */
export function routeOwner(target: RouteTarget | undefined, formerNats: ReadonlySet<string>, unresolved: ReadonlySet<string>): RouteOwner {
  if (!target || target.state === 'blackhole') return { owner: 'ours' };
  for (const id of [target.instanceId, target.networkInterfaceId]) {
    if (id === undefined) continue;
    if (formerNats.has(id)) return { owner: 'ours' };
    if (unresolved.has(id)) return { owner: 'unresolved', id };
  }
  return { owner: 'foreign', ...describeRouteTarget(target) };
}
