/**
 * The peer probe on real sockets: a responder bound to the NAT's primary private address (never
 * 0.0.0.0: it serves the deployment's other NATs, which reach that address, and nothing on the
 * public side), and a prober whose requests leave from that same address every interval.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { errorMessage } from '../errors';
import type { Logger } from '../log';
import { ProbeRounds } from './probe-rounds';
import type { PeerReachability } from './reachability';
import { answerTo, PEER_NONCE_BYTES } from './wire';

function bind(address: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4' });
  return new Promise((resolve, reject) => {
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.bind({ address, port, exclusive: true }, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

export interface PeerResponder {
  /** Requests answered so far. */
  readonly answered: number;
  /** Datagrams ignored (not a request). */
  readonly ignored: number;
  close(): Promise<void>;
}

/** Answers every well-formed request on `address`:`port` with its nonce echoed; ignores the rest. */
export async function startPeerResponder(address: string, port: number, log: Logger): Promise<PeerResponder> {
  const socket = await bind(address, port);
  const counts = { answered: 0, ignored: 0 };
  socket.on('message', (message, sender) => {
    const answer = answerTo(message);
    if (!answer) {
      counts.ignored++;
      return;
    }
    counts.answered++;
    socket.send(answer, sender.port, sender.address, (error) => {
      if (error) log('debug', `peer responder: answer to ${sender.address}:${sender.port} not sent: ${errorMessage(error)}`);
    });
  });
  socket.on('error', (error) => log('warn', `peer responder on ${address}:${port}: ${errorMessage(error)}`));
  return {
    get answered() {
      return counts.answered;
    },
    get ignored() {
      return counts.ignored;
    },
    close: () => closeSocket(socket),
  };
}

export interface PeerProberOptions {
  /** Source address of the requests (the NAT's primary private address). */
  address: string;
  /** The peers' responder port. */
  port: number;
  intervalMs: number;
  timeoutMs?: number;
  log: Logger;
}

export interface PeerProber {
  close(): Promise<void>;
}

/** Probes every peer the tracker lists once per interval, from its own socket, until closed. */
export async function startPeerProber(tracker: PeerReachability, options: PeerProberOptions): Promise<PeerProber> {
  const socket = await bind(options.address, 0);
  const rounds = new ProbeRounds(tracker, {
    port: options.port,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    nonce: () => randomBytes(PEER_NONCE_BYTES),
  });
  const { log } = options;
  let sendFailing = false;
  socket.on('message', (message, sender) => {
    try {
      rounds.receive(message, sender);
    } catch (error) {
      log('error', `peer prober: answer from ${sender.address} not handled: ${errorMessage(error)}`);
    }
  });
  socket.on('error', (error) => log('warn', `peer prober on ${options.address}: ${errorMessage(error)}`));
  const round = () => {
    let requests;
    try {
      // Change listeners run inside (a newly unreachable peer): one that throws must not stop the rounds.
      requests = rounds.round(Date.now());
    } catch (error) {
      log('error', `peer probe round failed: ${errorMessage(error)}`);
      return;
    }
    // An unsent request is still a miss when it expires: from here a peer that cannot be reached
    // and a peer that does not answer look the same, and both are only a hint.
    for (const request of requests) {
      socket.send(request.payload, request.port, request.address, (error) => {
        if (error && !sendFailing) log('warn', `peer probe to ${request.instanceId} (${request.address}) not sent: ${errorMessage(error)}`);
        sendFailing = Boolean(error);
      });
    }
  };
  // setImmediate: the round (which expires what went unanswered) runs after this loop turn's I/O,
  // so answers that queued up while the process was not scheduled are read before they expire.
  const timer = setInterval(() => setImmediate(round), options.intervalMs);
  round();
  return {
    close: async () => {
      clearInterval(timer);
      await closeSocket(socket);
    },
  };
}
