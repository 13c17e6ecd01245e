/**
 * Stand-in for the agent's pure reachability tracker (agent/peers/, being built): a peer is
 * unreachable after `misses` consecutive missed probes, reachable again at its first answer.
 * Same behaviour as the design (3 misses); replaced by the agent's own tracker once it exists.
 */
export const MISSES_TO_UNREACHABLE = 3;

export class ReachabilityTracker {
  private readonly missed = new Map<string, number>();

  constructor(private readonly misses = MISSES_TO_UNREACHABLE) {}

  /** The peers to track (replaces the list; forgotten peers are dropped). */
  setPeers(ids: readonly string[]): void {
    for (const id of [...this.missed.keys()]) if (!ids.includes(id)) this.missed.delete(id);
    for (const id of ids) if (!this.missed.has(id)) this.missed.set(id, 0);
  }

  answered(id: string): void {
    if (this.missed.has(id)) this.missed.set(id, 0);
  }

  /** A missed probe; true when this miss made the peer unreachable. */
  missedProbe(id: string): boolean {
    const n = this.missed.get(id);
    if (n === undefined) return false;
    this.missed.set(id, n + 1);
    return n + 1 === this.misses;
  }

  unreachable(): string[] {
    return [...this.missed].filter(([, n]) => n >= this.misses).map(([id]) => id);
  }
}
