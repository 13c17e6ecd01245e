/** The peer witness's pure parts: the datagram format, the reachability tracker and the probe rounds. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_UNREACHABLE_PEERS, type IntakePeer } from '../../common/intake-contract';
import { ProbeRounds, type OutgoingRequest } from '../../agent/peers/probe-rounds';
import { PeerReachability } from '../../agent/peers/reachability';
import { answerTo, decodeMessage, encodeAnswer, encodeRequest, PEER_MESSAGE_BYTES } from '../../agent/peers/wire';

const peer = (n: number): IntakePeer => ({ instanceId: `i-${n.toString(16).padStart(4, '0')}`, address: `10.0.${n >> 8}.${n & 255}`, availabilityZone: 'us-east-1a' });
const A = peer(1);
const B = peer(2);
const nonce = (n: number) => Buffer.from(n.toString(16).padStart(16, '0'), 'hex');

describe('Module: peers/wire', () => {
  it('answers a request with the same nonce, the same size, and the answer kind', () => {
    const request = encodeRequest(nonce(0xabc));
    const answer = answerTo(request)!;
    expect(answer.length).toBe(request.length);
    expect(decodeMessage(answer)).toEqual({ kind: 'answer', nonce: nonce(0xabc) });
  });

  it('answers nothing but a well-formed request: no answer to an answer, a padded, truncated or altered request', () => {
    const request = encodeRequest(nonce(7));
    expect(answerTo(encodeAnswer(nonce(7)))).toBeUndefined();
    expect(answerTo(Buffer.concat([request, Buffer.alloc(1)]))).toBeUndefined();
    expect(answerTo(request.subarray(0, PEER_MESSAGE_BYTES - 1))).toBeUndefined();
    for (const [offset, value] of [[0, 0x4f], [4, 2], [5, 3], [6, 1], [7, 1]] as const) {
      const altered = Buffer.from(request);
      altered[offset] = value;
      expect({ offset, answer: answerTo(altered) }).toEqual({ offset, answer: undefined });
    }
  });

  it('never answers more bytes than it got, whatever it gets (property)', () => {
    let answered = 0;
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 1500 }), fc.uint8Array({ minLength: 8, maxLength: 8 }).map((n) => new Uint8Array(encodeRequest(n)))), (bytes) => {
        const answer = answerTo(bytes);
        if (answer) answered++;
        return answer === undefined || (answer.length <= bytes.length && decodeMessage(bytes)?.kind === 'request');
      }),
    );
    expect(answered).toBeGreaterThan(0); // the property also saw requests, not only garbage
  });

  it('rejects a nonce of the wrong length', () => {
    expect(() => encodeRequest(Buffer.alloc(4))).toThrow(RangeError);
  });
});

describe('Class: PeerReachability', () => {
  it('turns a peer unreachable at the third miss in a row, not before, and reachable at its first answer', () => {
    let now = 1000;
    const transitions: [string, boolean, number][] = [];
    const tracker = new PeerReachability({ now: () => now, onTransition: (...t) => transitions.push(t) });
    tracker.setPeers([A, B]);
    expect(tracker.recordMiss(A.instanceId)).toBe(false);
    expect(tracker.recordMiss(A.instanceId)).toBe(false);
    expect(tracker.unreachable()).toEqual([]);
    now = 3000;
    expect(tracker.recordMiss(A.instanceId)).toBe(true);
    expect(tracker.recordMiss(A.instanceId)).toBe(false); // already unreachable: no second transition
    expect(tracker.unreachable()).toEqual([A.instanceId]);
    expect(tracker.snapshot().find((s) => s.peer.instanceId === A.instanceId)).toMatchObject({ misses: 4, unreachableSince: 3000 });
    now = 4000;
    expect(tracker.recordAnswer(A.instanceId)).toBe(true);
    expect(tracker.unreachable()).toEqual([]);
    expect(transitions).toEqual([
      [A.instanceId, false, 3000],
      [A.instanceId, true, 4000],
    ]);
  });

  it('needs the misses in a row: an answer in between starts the count again', () => {
    const tracker = new PeerReachability();
    tracker.setPeers([A]);
    tracker.recordMiss(A.instanceId);
    tracker.recordMiss(A.instanceId);
    tracker.recordAnswer(A.instanceId);
    tracker.recordMiss(A.instanceId);
    tracker.recordMiss(A.instanceId);
    expect(tracker.unreachable()).toEqual([]);
    expect(tracker.recordMiss(A.instanceId)).toBe(true);
  });

  it('takes its threshold from the options, and refuses one below 1', () => {
    const tracker = new PeerReachability({ missesToUnreachable: 1 });
    tracker.setPeers([A]);
    expect(tracker.recordMiss(A.instanceId)).toBe(true);
    expect(() => new PeerReachability({ missesToUnreachable: 0 })).toThrow(RangeError);
    expect(() => new PeerReachability({ missesToUnreachable: 1.5 })).toThrow(RangeError);
  });

  it('forgets a peer that leaves the list, starts a new or re-addressed one afresh, and ignores strangers', () => {
    const tracker = new PeerReachability();
    tracker.setPeers([A, B]);
    for (let i = 0; i < 3; i++) {
      tracker.recordMiss(A.instanceId);
      tracker.recordMiss(B.instanceId);
    }
    expect(tracker.unreachable()).toEqual([A.instanceId, B.instanceId]);
    tracker.setPeers([B, { ...A, address: '10.9.9.9' }]);
    expect(tracker.unreachable()).toEqual([B.instanceId]);
    tracker.setPeers([{ ...B, availabilityZone: 'us-east-1b' }]); // same address: state kept, details updated
    expect(tracker.unreachable()).toEqual([B.instanceId]);
    expect(tracker.peers()).toEqual([{ ...B, availabilityZone: 'us-east-1b' }]);
    tracker.setPeers([]);
    expect(tracker.peers()).toEqual([]);
    tracker.setPeers([B]);
    expect(tracker.unreachable()).toEqual([]);
    expect(tracker.recordMiss('i-ffff')).toBe(false);
    expect(tracker.recordAnswer('i-ffff')).toBe(false);
  });

  it(`lists at most ${MAX_UNREACHABLE_PEERS} unreachable peers, sorted`, () => {
    const peers = Array.from({ length: 20 }, (_, i) => peer(40 - i));
    const tracker = new PeerReachability({ missesToUnreachable: 1 });
    tracker.setPeers(peers);
    for (const p of peers) tracker.recordMiss(p.instanceId);
    const listed = tracker.unreachable();
    expect(listed).toHaveLength(MAX_UNREACHABLE_PEERS);
    expect(listed).toEqual(peers.map((p) => p.instanceId).sort().slice(0, MAX_UNREACHABLE_PEERS));
  });

  it('calls its change listeners once per newly unreachable peer, and not when one answers again', () => {
    const tracker = new PeerReachability({ missesToUnreachable: 2 });
    let calls = 0;
    tracker.onChange(() => calls++);
    tracker.setPeers([A, B]);
    for (let i = 0; i < 5; i++) tracker.recordMiss(A.instanceId);
    expect(calls).toBe(1);
    tracker.recordMiss(B.instanceId);
    tracker.recordMiss(B.instanceId);
    tracker.recordAnswer(A.instanceId);
    expect(calls).toBe(2);
  });
});

describe('Class: ProbeRounds', () => {
  const PORT = 4799;
  function setup(missesToUnreachable = 3) {
    const tracker = new PeerReachability({ missesToUnreachable });
    let counter = 0;
    const rounds = new ProbeRounds(tracker, { port: PORT, timeoutMs: 1000, nonce: () => nonce(++counter) });
    tracker.setPeers([A, B]);
    return { tracker, rounds };
  }
  const answerFor = (request: { payload: Buffer }) => answerTo(request.payload)!;

  it('sends each peer one request per round with a fresh nonce, to its address and the responder port', () => {
    const { rounds } = setup();
    const first = rounds.round(0);
    const second = rounds.round(1000);
    expect(first.map((r) => [r.instanceId, r.address, r.port])).toEqual([
      [A.instanceId, A.address, PORT],
      [B.instanceId, B.address, PORT],
    ]);
    const nonces = [...first, ...second].map((r) => decodeMessage(r.payload)!.nonce.toString('hex'));
    expect(new Set(nonces).size).toBe(4);
  });

  it('counts an answer only from the peer’s address and port, with the nonce of a pending request, within the timeout', () => {
    const { tracker, rounds } = setup(1);
    const [toA, toB] = rounds.round(0) as [OutgoingRequest, OutgoingRequest];
    // Spoofs: right nonce from the other peer, from the right address but another port, a wrong nonce, a request.
    expect(rounds.receive(answerFor(toA), { address: B.address, port: PORT })).toBe(false);
    expect(rounds.receive(answerFor(toA), { address: A.address, port: 5000 })).toBe(false);
    expect(rounds.receive(encodeAnswer(nonce(999)), { address: A.address, port: PORT })).toBe(false);
    expect(rounds.receive(toA.payload, { address: A.address, port: PORT })).toBe(false);
    expect(rounds.receive(answerFor(toB), { address: B.address, port: PORT })).toBe(true);
    expect(rounds.receive(answerFor(toB), { address: B.address, port: PORT })).toBe(false); // replayed
    rounds.expire(1000);
    expect(tracker.unreachable()).toEqual([A.instanceId]);
    // A late answer to an expired request does not count.
    expect(rounds.receive(answerFor(toA), { address: A.address, port: PORT })).toBe(false);
    expect(tracker.unreachable()).toEqual([A.instanceId]);
  });

  it('makes a silent peer unreachable after three rounds and reachable at its next answer', () => {
    const { tracker, rounds } = setup();
    let t = 0;
    const answeringB = () => {
      for (const request of rounds.round(t)) {
        if (request.instanceId === B.instanceId) rounds.receive(answerFor(request), { address: B.address, port: PORT });
      }
      t += 1000;
    };
    for (let i = 0; i < 3; i++) answeringB();
    expect(tracker.unreachable()).toEqual([]); // the third request is still pending
    answeringB();
    expect(tracker.unreachable()).toEqual([A.instanceId]);
    const toA = rounds.round(t).find((r) => r.instanceId === A.instanceId)!;
    expect(rounds.receive(answerFor(toA), { address: A.address, port: PORT })).toBe(true);
    expect(tracker.unreachable()).toEqual([]);
  });

  it('lets an answer settle the same peer’s older pending requests, so they do not expire as misses', () => {
    const tracker = new PeerReachability({ missesToUnreachable: 1 });
    let counter = 0;
    const rounds = new ProbeRounds(tracker, { port: PORT, timeoutMs: 3000, nonce: () => nonce(++counter) });
    tracker.setPeers([A]);
    rounds.round(0);
    const [second] = rounds.round(1000);
    expect(rounds.outstanding).toBe(2);
    expect(rounds.receive(answerFor(second!), { address: A.address, port: PORT })).toBe(true);
    expect(rounds.outstanding).toBe(0);
    rounds.expire(10_000);
    expect(tracker.unreachable()).toEqual([]);
  });

  it('draws another nonce when one is already pending', () => {
    const tracker = new PeerReachability();
    tracker.setPeers([A, B]);
    const drawn = [nonce(1), nonce(1), nonce(2)];
    const rounds = new ProbeRounds(tracker, { port: PORT, nonce: () => drawn.shift()! });
    const requests = rounds.round(0);
    expect(requests.map((r) => decodeMessage(r.payload)!.nonce)).toEqual([nonce(1), nonce(2)]);
  });
});
