/**
 * A NAT's peer prober on the virtual clock, behind the agent's `WitnessSource` seam: every
 * probe interval it sends each peer a probe; an answer within the timeout counts as reachable,
 * else a miss, fed to the reachability tracker (3 misses: unreachable). A newly unreachable peer
 * fires the change listeners, so the agent sends a body at once.
 *
 * `behaviour` models a compromised NAT's witness: `lie` names every peer unreachable whatever it
 * hears; `withhold` never names anyone. What it says goes through the intake like any body.
 */
import type { IntakePeer } from '../../common/intake-contract';
import { PeerReachability } from '../../agent/peers/reachability';
import type { WitnessSource } from '../../agent/witness-source';
import type { WorldContext } from '../world/context';
import type { SimInstance } from '../world/ec2';
import type { PeerNetwork } from './network';

export type WitnessBehaviour = 'honest' | 'lie' | 'withhold';

export class SimPeerProber implements WitnessSource {
  private readonly tracker: PeerReachability;
  private readonly listeners: (() => void)[] = [];
  private timer?: { cancel(): void };
  behaviour: WitnessBehaviour = 'honest';
  probesSent = 0;

  constructor(
    private readonly ctx: WorldContext,
    private readonly self: SimInstance,
    private readonly network: PeerNetwork,
    private readonly instanceOf: (instanceId: string) => SimInstance | undefined,
  ) {
    this.tracker = new PeerReachability({ now: () => ctx.clock.now() });
    // A lying witness tells nobody when it changes its story; a withholding one tells nothing.
    this.tracker.onChange(() => {
      if (this.behaviour === 'honest') for (const listener of this.listeners) listener();
    });
  }

  unreachable(): string[] {
    if (this.behaviour === 'withhold') return [];
    if (this.behaviour === 'lie') return this.tracker.peers().map((p) => p.instanceId).sort();
    return this.tracker.unreachable();
  }

  setPeers(peers: readonly IntakePeer[]): void {
    this.tracker.setPeers(peers.filter((p) => p.instanceId !== this.self.instanceId));
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    const { clock, params } = this.ctx;
    this.stop();
    this.timer = clock.every(params.peerProbeIntervalSeconds * 1000, clock.now(), () => this.round());
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Peers whose probe of the last round got no answer: counted when their timeout ends. */
  private pendingMisses: string[] = [];

  private applyMisses(): void {
    for (const id of this.pendingMisses) this.tracker.recordMiss(id);
    this.pendingMisses = [];
  }

  /**
   * One probe per peer. An answer (a round trip of a few ms) is counted at once; a miss when the
   * timeout ends, which with the timeout equal to the interval is the start of the next round:
   * one clock event per round keeps long runs cheap.
   */
  private round(): void {
    const { clock, params } = this.ctx;
    const timeoutMs = params.peerProbeTimeoutSeconds * 1000;
    const folded = timeoutMs === params.peerProbeIntervalSeconds * 1000;
    if (folded) this.applyMisses();
    for (const peer of this.tracker.peers()) {
      const target = this.instanceOf(peer.instanceId);
      const rtt = target ? this.network.probe(this.self, target) : undefined;
      this.probesSent++;
      if (rtt !== undefined && rtt < timeoutMs) this.tracker.recordAnswer(peer.instanceId);
      else this.pendingMisses.push(peer.instanceId);
    }
    if (!folded && this.pendingMisses.length > 0) clock.after(timeoutMs, () => this.applyMisses());
  }
}
