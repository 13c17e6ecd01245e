/**
 * Stand-in for the agent's pure reachability tracker (agent/peers/reachability.ts, being built),
 * with the same API: a peer is unreachable after `missesToUnreachable` consecutive misses,
 * reachable again at its first answer; peers leaving the list are forgotten. Removed once the
 * agent's own tracker is on main.
 */
import { MAX_UNREACHABLE_PEERS, type IntakePeer } from '../../common/intake-contract';

export const DEFAULT_MISSES_TO_UNREACHABLE = 3;

export class PeerReachability {
  private readonly states = new Map<string, { peer: IntakePeer; misses: number; unreachable: boolean }>();
  private readonly listeners: (() => void)[] = [];
  private readonly missesToUnreachable: number;

  constructor(options: { missesToUnreachable?: number; now?: () => number } = {}) {
    this.missesToUnreachable = options.missesToUnreachable ?? DEFAULT_MISSES_TO_UNREACHABLE;
  }

  setPeers(peers: readonly IntakePeer[]): void {
    const listed = new Map(peers.map((peer) => [peer.instanceId, peer]));
    for (const id of this.states.keys()) if (!listed.has(id)) this.states.delete(id);
    for (const [id, peer] of listed) {
      const known = this.states.get(id);
      if (known && known.peer.address === peer.address) known.peer = { ...peer };
      else this.states.set(id, { peer: { ...peer }, misses: 0, unreachable: false });
    }
  }

  peers(): IntakePeer[] {
    return [...this.states.values()].map((s) => ({ ...s.peer }));
  }

  recordMiss(instanceId: string): boolean {
    const state = this.states.get(instanceId);
    if (!state) return false;
    state.misses++;
    if (state.unreachable || state.misses < this.missesToUnreachable) return false;
    state.unreachable = true;
    for (const listener of this.listeners) listener();
    return true;
  }

  recordAnswer(instanceId: string): boolean {
    const state = this.states.get(instanceId);
    if (!state) return false;
    const was = state.unreachable;
    state.misses = 0;
    state.unreachable = false;
    return was;
  }

  unreachable(): string[] {
    return [...this.states.values()].filter((s) => s.unreachable).map((s) => s.peer.instanceId).sort().slice(0, MAX_UNREACHABLE_PEERS);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}
