/**
 * The peer probe's datagrams. A request and its answer have the same fixed size and layout:
 *
 *   0..3  magic "NBPW"   4  version (1)   5  kind (1 request, 2 answer)   6..7  zero
 *   8..15 nonce (8 random bytes, chosen by the prober, echoed by the responder)
 *
 * The kind byte keeps two responders from answering each other's answers (a spoofed request
 * cannot start a loop between NATs), and an answer is never longer than the request it answers, so
 * the responder is no amplifier. Anything else is not a peer probe datagram and gets no answer.
 * Pure: the simulator uses the same encoder and decoder as the agent.
 */
export const PEER_MESSAGE_BYTES = 16;
export const PEER_NONCE_BYTES = 8;
const MAGIC = 0x4e425057; // "NBPW"
const VERSION = 1;
const KIND_REQUEST = 1;
const KIND_ANSWER = 2;

export type PeerMessageKind = 'request' | 'answer';

function encode(kind: number, nonce: Uint8Array): Buffer {
  if (nonce.length !== PEER_NONCE_BYTES) throw new RangeError(`a peer probe nonce is ${PEER_NONCE_BYTES} bytes, not ${nonce.length}`);
  const message = Buffer.alloc(PEER_MESSAGE_BYTES);
  message.writeUInt32BE(MAGIC, 0);
  message.writeUInt8(VERSION, 4);
  message.writeUInt8(kind, 5);
  message.set(nonce, 8);
  return message;
}

export const encodeRequest = (nonce: Uint8Array): Buffer => encode(KIND_REQUEST, nonce);
export const encodeAnswer = (nonce: Uint8Array): Buffer => encode(KIND_ANSWER, nonce);

/** The kind and nonce of a well-formed peer probe datagram; undefined for anything else. */
export function decodeMessage(message: Uint8Array): { kind: PeerMessageKind; nonce: Buffer } | undefined {
  if (message.length !== PEER_MESSAGE_BYTES) return undefined;
  const view = Buffer.from(message.buffer, message.byteOffset, message.length);
  if (view.readUInt32BE(0) !== MAGIC || view.readUInt8(4) !== VERSION || view.readUInt16BE(6) !== 0) return undefined;
  const kind = view.readUInt8(5);
  if (kind !== KIND_REQUEST && kind !== KIND_ANSWER) return undefined;
  return { kind: kind === KIND_REQUEST ? 'request' : 'answer', nonce: Buffer.from(view.subarray(8, 16)) };
}

/** The responder's answer to `message`: its nonce echoed, same size; undefined when it is not a request. */
export function answerTo(message: Uint8Array): Buffer | undefined {
  const decoded = decodeMessage(message);
  return decoded?.kind === 'request' ? encodeAnswer(decoded.nonce) : undefined;
}
