/**
 * A stand-in NAT for the real-kernel peer witness tests, run (bundled) inside a test namespace.
 * Prints one JSON object per line on stdout.
 *
 *   witness ADDRESS PORT INTERVAL_MS PEERS_JSON   the agent's peer witness (startPeerWitness) with
 *       those peers; prints {"event":"ready"}, then {"event":"unreachable","peers":[…],"at":ms}
 *       whenever the unreachable set changes.
 *   liar ADDRESS PORT RELAY_HOST:RELAY_PORT      a peer that answers every request wrongly: with
 *       another nonce from the right port, with the right nonce from another port, and hands the
 *       right nonce to a relay on another address, which answers with it from there.
 *   relay ADDRESS PORT LISTEN_PORT               that relay: answers from ADDRESS:PORT.
 *   blast ADDRESS TARGET_HOST:PORT               sends the responder garbage and requests and prints
 *       {"event":"blast","results":[{label, bytes, sent, replies:[lengths], echoed}]}.
 * Every mode prints {"event":"ready"} once it has started.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { startPeerWitness } from '../../../agent/peers/witness';
import { decodeMessage, encodeAnswer, encodeRequest } from '../../../agent/peers/wire';

const print = (value: object) => process.stdout.write(`${JSON.stringify(value)}\n`);

function bound(address: string, port: number): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve(socket));
  });
}

function hostPort(text: string): [string, number] {
  const [host, port] = text.split(':');
  return [host as string, Number(port)];
}

async function witness(address: string, port: string, intervalMs: string, peers: string): Promise<void> {
  let last = '[]';
  // Event-driven (the witness logs every transition), so the bench measures the witness, not a poll.
  const report = () => {
    const now = JSON.stringify(running.source.unreachable());
    if (now !== last) print({ event: 'unreachable', peers: JSON.parse(now), at: Date.now() });
    last = now;
  };
  const running = startPeerWitness({
    address,
    port: Number(port),
    intervalMs: Number(intervalMs),
    missesToUnreachable: 3,
    log: (level, message) => {
      process.stderr.write(`${level}: ${message}\n`);
      if (/^peer \S+ (stopped answering|answers again)/.test(message)) report();
    },
  });
  running.source.setPeers(JSON.parse(peers));
  if (!(await running.ready)) return;
  print({ event: 'ready' });
}

async function liar(address: string, port: string, relay: string): Promise<void> {
  const socket = await bound(address, Number(port));
  const otherPort = await bound(address, 0);
  const [relayHost, relayPort] = hostPort(relay);
  let lied = false;
  socket.on('message', (message, sender) => {
    const decoded = decodeMessage(message);
    if (decoded?.kind !== 'request') return;
    if (!lied) print({ event: 'lied' });
    lied = true;
    const wrong = Buffer.from(decoded.nonce);
    wrong[0] = (wrong[0] as number) ^ 0xff;
    socket.send(encodeAnswer(wrong), sender.port, sender.address);
    otherPort.send(encodeAnswer(decoded.nonce), sender.port, sender.address);
    otherPort.send(JSON.stringify({ nonce: decoded.nonce.toString('hex'), address: sender.address, port: sender.port }), relayPort, relayHost);
  });
  print({ event: 'ready' });
}

async function relay(address: string, port: string, listenPort: string): Promise<void> {
  const from = await bound(address, Number(port));
  const listen = await bound(address, Number(listenPort));
  let relayed = false;
  listen.on('message', (message) => {
    if (!relayed) print({ event: 'relayed' });
    relayed = true;
    const { nonce, address: to, port: toPort } = JSON.parse(message.toString()) as { nonce: string; address: string; port: number };
    from.send(encodeAnswer(Buffer.from(nonce, 'hex')), toPort, to);
  });
  print({ event: 'ready' });
}

async function blast(address: string, target: string): Promise<void> {
  print({ event: 'ready' });
  const [host, port] = hostPort(target);
  const nonce = randomBytes(8);
  const request = encodeRequest(nonce);
  const wrongVersion = Buffer.from(request);
  wrongVersion[4] = 2;
  const datagrams: [string, Buffer][] = [
    ['request', request],
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([1])],
    ['request minus a byte', request.subarray(0, 15)],
    ['request plus a byte', Buffer.concat([request, Buffer.from([0])])],
    ['request padded to 1400', Buffer.concat([request, Buffer.alloc(1384)])],
    ['answer', encodeAnswer(nonce)],
    ['wrong version', wrongVersion],
    ['random 16', randomBytes(16)],
    ['random 512', randomBytes(512)],
    ['text', Buffer.from('GET / HTTP/1.0\r\n\r\n')],
  ];
  const results = await Promise.all(
    datagrams.map(async ([label, bytes]) => {
      const socket = await bound(address, 0);
      const replies: Buffer[] = [];
      socket.on('message', (reply) => replies.push(reply));
      // Three copies: UDP may drop one; the replies must still never outnumber or outsize them.
      for (let i = 0; i < 3; i++) socket.send(bytes, port, host);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      socket.close();
      return {
        label,
        bytes: bytes.length,
        sent: 3,
        replies: replies.map((reply) => reply.length),
        echoed: replies.every((reply) => decodeMessage(reply)?.kind === 'answer' && decodeMessage(reply)?.nonce.equals(nonce)),
      };
    }),
  );
  print({ event: 'blast', results });
  process.exit(0);
}

const [mode, ...args] = process.argv.slice(2);
const modes: Record<string, (...a: string[]) => Promise<void>> = { witness, liar, relay, blast };
const run = modes[mode ?? ''];
if (!run) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
run(...args).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
