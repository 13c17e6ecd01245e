/**
 * The prober’s bookkeeping, without sockets or timers so the simulator can run it on virtual time:
 * each round sends every peer one request with a fresh nonce; a request unanswered `timeoutMs`
 * after it left is a miss; an answer counts only when it carries the nonce of a pending request
 * AND comes from that request's peer address and port. The driver (the agent's UDP prober, or the
 * simulator) calls:
 *
 *   rounds.round(now)                  → the requests to send now (after expiring overdue ones)
 *   rounds.expire(now)                 → counts the misses of requests past their deadline
 *   rounds.receive(bytes, from)        → true when it counted an answer (to a request not yet expired)
 */
import type { IntakePeer } from '../../common/intake-contract';
import type { PeerReachability } from './reachability';
import { decodeMessage, encodeRequest } from './wire';

export const DEFAULT_PEER_PROBE_TIMEOUT_MS = 1000;

export interface ProbeRoundsOptions {
  /** UDP port the peers' responders listen on (answers must come from it). */
  port: number;
  timeoutMs?: number;
  /** A fresh PEER_NONCE_BYTES-byte random nonce per request. */
  nonce: () => Buffer;
}

export interface OutgoingRequest {
  instanceId: string;
  address: string;
  port: number;
  payload: Buffer;
}

interface Pending {
  instanceId: string;
  address: string;
  sentAt: number;
}

export interface Sender {
  address: string;
  port: number;
}

export class ProbeRounds {
  /** Nonce (hex) → the request it was sent with. */
  private readonly pending = new Map<string, Pending>();
  private readonly timeoutMs: number;

  constructor(
    private readonly tracker: PeerReachability,
    private readonly options: ProbeRoundsOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PEER_PROBE_TIMEOUT_MS;
  }

  /** Expires overdue requests, then returns one new request per listed peer. */
  round(now: number): OutgoingRequest[] {
    this.expire(now);
    return this.tracker.peers().map((peer: IntakePeer) => {
      let nonce = this.options.nonce();
      // 64 random bits collide in practice never; a duplicate would make two requests one.
      while (this.pending.has(nonce.toString('hex'))) nonce = this.options.nonce();
      this.pending.set(nonce.toString('hex'), { instanceId: peer.instanceId, address: peer.address, sentAt: now });
      return { instanceId: peer.instanceId, address: peer.address, port: this.options.port, payload: encodeRequest(nonce) };
    });
  }

  /** Counts one miss for every request older than the timeout. */
  expire(now: number): void {
    for (const [key, request] of this.pending) {
      if (now - request.sentAt < this.timeoutMs) continue;
      this.pending.delete(key);
      this.tracker.recordMiss(request.instanceId);
    }
  }

  /** Handles a datagram that reached the prober's socket; true when it counted as an answer. */
  receive(message: Uint8Array, from: Sender): boolean {
    const decoded = decodeMessage(message);
    if (decoded?.kind !== 'answer') return false;
    const key = decoded.nonce.toString('hex');
    const request = this.pending.get(key);
    // Still pending means not yet expired: only expire() ends a request's time, on the driver's
    // schedule, so an answer that waited in a busy process's socket buffer is not taken for late.
    if (!request || request.address !== from.address || from.port !== this.options.port) return false;
    this.pending.delete(key);
    // Older requests to the same peer are answered for: it is alive now, so they are no misses.
    for (const [other, pending] of this.pending) {
      if (pending.instanceId === request.instanceId && pending.sentAt <= request.sentAt) this.pending.delete(other);
    }
    this.tracker.recordAnswer(request.instanceId);
    return true;
  }

  /** Requests still waiting for an answer (tests, logs). */
  get outstanding(): number {
    return this.pending.size;
  }
}
