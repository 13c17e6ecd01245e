/**
 * Which peers stopped answering: a pure tracker, fed by whoever probes (the agent's UDP prober, or
 * the simulator on virtual time). No I/O and no timers; the only clock it reads is the injected
 * `now`, for the time a peer became unreachable.
 *
 *   const tracker = new PeerReachability({ missesToUnreachable: 3, now: () => virtualMs });
 *   tracker.setPeers(answer.peers);          // the intake's list; replaces the previous one
 *   tracker.recordMiss('i-b');               // → true when that miss made i-b unreachable
 *   tracker.recordAnswer('i-b');             // reachable again at once, misses back to 0
 *   tracker.unreachable();                   // ['i-b', …]: sorted, at most MAX_UNREACHABLE_PEERS
 *   tracker.onChange(() => sendBodyNow());   // called on each newly unreachable peer
 *
 * Rules: a peer is unreachable after `missesToUnreachable` consecutive misses, reachable again at
 * its first answer. A peer new to the list starts reachable with no misses; a peer that leaves the
 * list is forgotten (it comes back, if it does, as new); a listed peer whose address changed starts
 * over too. Misses and answers for peers not in the list are ignored.
 */
import { MAX_UNREACHABLE_PEERS, type IntakePeer } from '../../common/intake-contract';
import type { WitnessSource } from '../witness-source';

export const DEFAULT_MISSES_TO_UNREACHABLE = 3;

export interface ReachabilityOptions {
  missesToUnreachable?: number;
  /** Milliseconds; defaults to Date.now. */
  now?: () => number;
  /** Told of every transition (logs, the simulator's records); `reachable` is the new state. */
  onTransition?: (instanceId: string, reachable: boolean, at: number) => void;
}

export interface PeerState {
  peer: IntakePeer;
  /** Consecutive misses since the last answer. */
  misses: number;
  /** When the peer became unreachable; undefined while reachable. */
  unreachableSince: number | undefined;
}

export class PeerReachability implements WitnessSource {
  private readonly states = new Map<string, PeerState>();
  private readonly listeners: (() => void)[] = [];
  private readonly missesToUnreachable: number;
  private readonly now: () => number;
  private readonly onTransition: ReachabilityOptions['onTransition'];

  constructor(options: ReachabilityOptions = {}) {
    this.missesToUnreachable = options.missesToUnreachable ?? DEFAULT_MISSES_TO_UNREACHABLE;
    if (!Number.isInteger(this.missesToUnreachable) || this.missesToUnreachable < 1) {
      throw new RangeError(`missesToUnreachable must be a whole number of at least 1, not ${this.missesToUnreachable}`);
    }
    this.now = options.now ?? Date.now;
    this.onTransition = options.onTransition;
  }

  setPeers(peers: readonly IntakePeer[]): void {
    const listed = new Map(peers.map((peer) => [peer.instanceId, peer]));
    for (const id of this.states.keys()) if (!listed.has(id)) this.states.delete(id);
    for (const [id, peer] of listed) {
      const known = this.states.get(id);
      if (known && known.peer.address === peer.address) known.peer = { ...peer };
      else this.states.set(id, { peer: { ...peer }, misses: 0, unreachableSince: undefined });
    }
  }

  /** The peers being probed (a copy). */
  peers(): IntakePeer[] {
    return [...this.states.values()].map((state) => ({ ...state.peer }));
  }

  /** Counts a probe of `instanceId` that got no valid answer; true when this miss made it unreachable. */
  recordMiss(instanceId: string): boolean {
    const state = this.states.get(instanceId);
    if (!state) return false;
    state.misses++;
    if (state.unreachableSince !== undefined || state.misses < this.missesToUnreachable) return false;
    state.unreachableSince = this.now();
    this.onTransition?.(instanceId, false, state.unreachableSince);
    for (const listener of this.listeners) listener();
    return true;
  }

  /** Counts a valid answer from `instanceId`; true when it was unreachable until now. */
  recordAnswer(instanceId: string): boolean {
    const state = this.states.get(instanceId);
    if (!state) return false;
    const wasUnreachable = state.unreachableSince !== undefined;
    state.misses = 0;
    state.unreachableSince = undefined;
    if (wasUnreachable) this.onTransition?.(instanceId, true, this.now());
    return wasUnreachable;
  }

  /** Instance ids of the unreachable peers, sorted, at most MAX_UNREACHABLE_PEERS. */
  unreachable(): string[] {
    return [...this.states.values()]
      .filter((state) => state.unreachableSince !== undefined)
      .map((state) => state.peer.instanceId)
      .sort()
      .slice(0, MAX_UNREACHABLE_PEERS);
  }

  /** Every listed peer's state (copies), for logs and tests. */
  snapshot(): PeerState[] {
    return [...this.states.values()].map((state) => ({ ...state, peer: { ...state.peer } }));
  }

  /** `listener` runs (synchronously) each time a peer becomes unreachable. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
}
