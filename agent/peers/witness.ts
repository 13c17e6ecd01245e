/**
 * The agent's peer witness: its responder (so peers can tell it is alive) and its prober (so it can
 * tell which peers are not), behind the WitnessSource the heartbeat side reads. A witness is only a
 * hint, so nothing here may stop the heartbeat: when the sockets cannot be bound (the address is
 * not there yet, the port is taken) it logs why and tries again until it is stopped.
 */
import type { WitnessSource } from '../witness-source';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import { PeerReachability } from './reachability';
import { startPeerProber, startPeerResponder, type PeerProber, type PeerResponder } from './udp';

export const PEER_BIND_RETRY_MS = 10_000;

export interface PeerWitnessOptions {
  /** The NAT's primary private IPv4 address: the responder listens on it, requests leave from it. */
  address: string;
  port: number;
  intervalMs: number;
  timeoutMs?: number;
  missesToUnreachable: number;
  log: Logger;
  retryMs?: number;
}

export interface RunningPeerWitness {
  source: WitnessSource;
  tracker: PeerReachability;
  /** true once the responder and the prober are both listening; false when stopped before. */
  ready: Promise<boolean>;
  stop(): Promise<void>;
}

export function startPeerWitness(options: PeerWitnessOptions): RunningPeerWitness {
  const { log } = options;
  const tracker = new PeerReachability({
    missesToUnreachable: options.missesToUnreachable,
    onTransition: (instanceId, reachable) => {
      const peer = tracker.peers().find((p) => p.instanceId === instanceId);
      if (reachable) log('info', `peer ${instanceId} answers again`, { peer });
      else log('warn', `peer ${instanceId} stopped answering (${options.missesToUnreachable} probes in a row)`, { peer });
    },
  });
  const stopped = new AbortController();
  let responder: PeerResponder | undefined;
  let prober: PeerProber | undefined;

  const bindAll = async (): Promise<boolean> => {
    for (let attempt = 1; !stopped.signal.aborted; attempt++) {
      try {
        responder ??= await startPeerResponder(options.address, options.port, log);
        prober ??= await startPeerProber(tracker, options);
        if (stopped.signal.aborted) break; // stop() ran while binding: close what it missed
        log('info', `peer witness listening on ${options.address}:${options.port}/udp`);
        return true;
      } catch (error) {
        log('error', `peer witness cannot bind ${options.address}:${options.port}/udp (attempt ${attempt}): ${errorMessage(error)}; heartbeats go on, retrying`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.retryMs ?? PEER_BIND_RETRY_MS);
          stopped.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    }
    await closeAll();
    return false;
  };
  const closeAll = async () => {
    const open = [responder, prober];
    responder = prober = undefined;
    await Promise.all(open.map((socket) => socket?.close()));
  };
  const binding = bindAll();

  return {
    source: tracker,
    tracker,
    ready: binding,
    stop: async () => {
      stopped.abort();
      await closeAll();
    },
  };
}
