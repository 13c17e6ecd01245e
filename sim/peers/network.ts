/**
 * Who can reach whom on the NATs' peer port: a peer answers a probe when it is alive (running,
 * not hung, not impaired, its zone up) and its agent's responder runs, and when no partition cuts
 * the prober's zone from the peer's. A partition cuts only NAT-to-NAT traffic between zones: the
 * cut-off NAT still routes its own zone and still reaches the intake (Lambda's public endpoint),
 * which is the case where witnesses must not move its tables.
 */
import { draw } from '../random';
import type { WorldContext } from '../world/context';
import type { SimInstance } from '../world/ec2';

export interface PartitionCut {
  /** This zone's NATs cannot reach the other zones' NATs, nor they it. */
  zone: string;
  from: number;
  until: number;
}

export class PeerNetwork {
  readonly cuts: PartitionCut[] = [];

  constructor(
    private readonly ctx: WorldContext,
    /** Is this instance's agent (and so its responder) running? */
    private readonly responderUp: (instanceId: string) => boolean,
  ) {}

  private cut(a: string, b: string): boolean {
    const now = this.ctx.clock.now();
    return a !== b && this.cuts.some((c) => now >= c.from && now < c.until && (c.zone === a || c.zone === b));
  }

  /** The probe's round trip in ms, or undefined when no answer will come. */
  probe(from: SimInstance, to: SimInstance): number | undefined {
    const alive = to.state === 'running' && !to.hung && to.impairedSince === undefined && !this.ctx.zonesDown.has(to.availabilityZone);
    if (!alive || !this.responderUp(to.instanceId) || this.cut(from.availabilityZone, to.availabilityZone)) return undefined;
    return draw(this.ctx.rng, this.ctx.params.peerProbeRttMs);
  }
}
