/**
 * Where the run loop gets its peers' reachability from (the peer prober implements it) and where
 * it hands the peer list the intake answered with. Kept apart so the heartbeat side and the peer
 * probe side meet only here.
 */
import type { IntakePeer } from '../common/intake-contract';

export interface WitnessSource {
  /** Instance ids of peers that stopped answering (sent in every body, at most 16). */
  unreachable(): string[];
  /** The deployment's other NATs, from the intake's latest answer (replaces the previous list). */
  setPeers(peers: readonly IntakePeer[]): void;
  /** Called when a peer becomes unreachable, so a body goes out at once rather than at the next beat. */
  onChange(listener: () => void): void;
}
