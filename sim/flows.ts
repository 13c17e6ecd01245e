/**
 * Flow accounting: each zone's private route table carries established connections
 * (establishedFlowsPerZone). When traffic starts following a new default route, every one of them
 * is reset: the new NAT has another public IP and no connection-tracking state. A move away from
 * a NAT that still forwards (a planned termination, a failback) is "planned"; with
 * handoverOnPlannedMoves its connections are handed over and count as kept, not reset.
 */
import type { WorldContext } from './world/context';
import type { Ec2World, SimRoute } from './world/ec2';

export interface RouteMove {
  at: number;
  zone: string;
  from?: string;
  to?: string;
  /** The NAT traffic left still forwarded at that moment. */
  planned: boolean;
  flowsReset: number;
  flowsHandedOver: number;
}

export class FlowLedger {
  readonly moves: RouteMove[] = [];

  constructor(
    private readonly ctx: WorldContext,
    private readonly ec2: Ec2World,
  ) {}

  /** Traffic of `zone` now follows `route` instead of `previous`. */
  moved(zone: string, previous: SimRoute | undefined, route: SimRoute): RouteMove | undefined {
    if (previous?.networkInterfaceId === route.networkInterfaceId) return undefined;
    const from = this.ec2.routeTargetInstance(previous);
    const to = this.ec2.routeTargetInstance(route);
    const planned = from !== undefined && this.ec2.natRoutes(from);
    const flows = this.ctx.params.establishedFlowsPerZone;
    const handedOver = planned && this.ctx.params.handoverOnPlannedMoves;
    const move: RouteMove = {
      at: this.ctx.clock.now(),
      zone,
      from: from?.instanceId ?? previous?.networkInterfaceId,
      to: to?.instanceId ?? route.networkInterfaceId,
      planned,
      flowsReset: handedOver ? 0 : flows,
      flowsHandedOver: handedOver ? flows : 0,
    };
    this.moves.push(move);
    return move;
  }

  get flowsReset(): number {
    return this.moves.reduce((n, m) => n + m.flowsReset, 0);
  }
}
