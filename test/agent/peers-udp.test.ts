/**
 * The peer witness on real sockets over loopback (127.0.0.0/8: every address is local, so two
 * witnesses get distinct addresses on one port). Deadlines are generous: the machine may be loaded;
 * the measured times are printed, not asserted.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLevel } from '../../agent/log';
import { startPeerResponder } from '../../agent/peers/udp';
import { startPeerWitness, type RunningPeerWitness } from '../../agent/peers/witness';
import { decodeMessage, encodeAnswer, encodeRequest } from '../../agent/peers/wire';

const PORT = 40_000 + (process.pid % 20_000);
const A = { instanceId: 'i-0a', address: '127.0.0.2', availabilityZone: 'z1' };
const B = { instanceId: 'i-0b', address: '127.0.0.3', availabilityZone: 'z2' };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function recordingLog() {
  const lines: { level: LogLevel; message: string }[] = [];
  return { lines, log: (level: LogLevel, message: string) => void lines.push({ level, message }) };
}

function witness(address: string, log = recordingLog().log, port = PORT): RunningPeerWitness {
  const running = startPeerWitness({ address, port, intervalMs: 200, timeoutMs: 200, missesToUnreachable: 3, log, retryMs: 100 });
  cleanups.push(() => running.stop());
  return running;
}

async function until(what: string, condition: () => boolean, deadlineMs = 15_000): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > deadlineMs) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - start;
}

async function client(): Promise<{ socket: Socket; replies: Buffer[] }> {
  const socket = createSocket('udp4');
  const replies: Buffer[] = [];
  socket.on('message', (message) => replies.push(message));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { socket, replies };
}

describe('Function: startPeerWitness (loopback)', () => {
  it('keeps an answering peer reachable, reports it unreachable once its responder stops, and reachable when it is back', async () => {
    const a = witness(A.address);
    let b = witness(B.address);
    expect(await a.ready).toBe(true);
    expect(await b.ready).toBe(true);
    let changes = 0;
    a.source.onChange(() => changes++);
    a.source.setPeers([B]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(a.source.unreachable()).toEqual([]);

    await b.stop();
    const downMs = await until('B unreachable', () => a.source.unreachable().includes(B.instanceId));
    expect(changes).toBe(1);
    b = witness(B.address);
    const upMs = await until('B reachable again', () => a.source.unreachable().length === 0);
    console.info(`loopback peer witness: unreachable ${downMs} ms after the responder stopped (3 × 200 ms rounds), reachable ${upMs} ms after it restarted`);
  });

  it('binds to its address only, and retries while it cannot bind, without throwing', async () => {
    const { lines, log } = recordingLog();
    const blocker = await startPeerResponder(A.address, PORT + 1, log);
    cleanups.push(() => blocker.close());
    const a = witness(A.address, log, PORT + 1);
    await until('two failed attempts logged', () => lines.filter((l) => l.level === 'error').length >= 2);
    expect(lines.find((l) => l.level === 'error')?.message).toMatch(/cannot bind 127\.0\.0\.2:\d+\/udp \(attempt 1\).*heartbeats go on/);
    await blocker.close();
    expect(await a.ready).toBe(true);
    // Another address on the same port is free: the witness did not take 0.0.0.0.
    const other = await startPeerResponder(B.address, PORT + 1, log);
    await other.close();
  });

  it('resolves ready with false when stopped before it could bind', async () => {
    const running = startPeerWitness({ address: '192.0.2.1', port: PORT + 2, intervalMs: 200, missesToUnreachable: 3, log: () => undefined, retryMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 120));
    await running.stop();
    expect(await running.ready).toBe(false);
  });
});

describe('Function: startPeerResponder (loopback)', () => {
  it('echoes a request’s nonce in an answer of the same size, and ignores answers and garbage', async () => {
    const responder = await startPeerResponder(A.address, PORT + 3, () => undefined);
    cleanups.push(() => responder.close());
    const { socket, replies } = await client();
    const nonce = Buffer.from('0123456789abcdef', 'hex');
    const garbage = [Buffer.alloc(0), Buffer.from('hello'), encodeAnswer(nonce), Buffer.concat([encodeRequest(nonce), Buffer.alloc(100)]), Buffer.alloc(1400, 0x41)];
    for (const datagram of garbage) socket.send(datagram, PORT + 3, A.address);
    socket.send(encodeRequest(nonce), PORT + 3, A.address);
    await until('one answer', () => replies.length >= 1);
    await until('every datagram seen', () => responder.answered + responder.ignored === garbage.length + 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.length).toBe(16);
    expect(decodeMessage(replies[0]!)).toEqual({ kind: 'answer', nonce });
    expect({ answered: responder.answered, ignored: responder.ignored }).toEqual({ answered: 1, ignored: garbage.length });
  });
});
