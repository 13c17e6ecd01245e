/**
 * The peer witness on a real kernel: three stand-in NATs, each its own network namespace, on one
 * bridge (a fourth namespace), each running the agent's peer witness (responder + prober, bundled).
 * Faults: the peer's process killed, its link down, an nft drop of its responder port; liars that
 * answer with a wrong nonce, from the wrong port or from another address; garbage sent to the
 * responder. Deadlines are generous (a loaded machine); the measured times are printed.
 * Needs root, ip, nft and nsenter; NATBEAT_REQUIRE_NETNS=1 turns a skip into a failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PEER_PORT, type IntakePeer } from '../../common/intake-contract';
import { buildPeerNode, peerAt, PeerTopology, type PeerNode } from './helpers/peer-topology';
import { netnsUnavailableReason } from './helpers/topology';

const netnsReason = netnsUnavailableReason();
if (netnsReason) console.warn(`real-kernel peer witness tests skipped: ${netnsReason}`);

describe.runIf(process.env.NATBEAT_REQUIRE_NETNS === '1')('Real-kernel prerequisites for the peer witness (NATBEAT_REQUIRE_NETNS=1)', () => {
  it('has root, ip, nft and nsenter', () => {
    expect(netnsReason).toBeUndefined();
  });
});

const INTERVAL_MS = 1000;
/** 3 misses at a 1 s interval take 3–4 s unloaded; this much leaves room for a machine under load. */
const DEADLINE_MS = 30_000;
const SPOOF_PORT = 4899;
/** The three stand-in NATs, as PeerTopology numbers them. */
const NATS = [1, 2, 3].map(peerAt) as [IntakePeer, IntakePeer, IntakePeer];

async function until(what: string, condition: () => boolean, deadlineMs = DEADLINE_MS): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > deadlineMs) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(netnsReason !== undefined)('Peer witness on a real kernel', () => {
  let dir = '';
  let topology: PeerTopology | undefined;
  const nodes: PeerNode[] = [];
  const measured: Record<string, number> = {};
  const net = () => topology as PeerTopology;
  const start = (index: number, args: string[]) => net().start(index, args, DEADLINE_MS);
  const startWitness = (index: number, port = DEFAULT_PEER_PORT, peers?: PeerTopology['peers']) => net().startWitness(index, port, INTERVAL_MS, peers);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'natbeat-peers-'));
    topology = new PeerTopology(3, await buildPeerNode(join(dir, 'peer-node.mjs')));
    await topology.create();
    for (const index of [0, 1, 2]) nodes[index] = await startWitness(index);
    // The first ones started probe the others before those listen; on a slow machine that can take 3 misses.
    await until('every stand-in sees every other answering', () => nodes.every((node) => node.unreachable.length === 0));
  }, 120_000);

  afterAll(async () => {
    await topology?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.info(`peer witness on a real kernel (interval ${INTERVAL_MS} ms, 3 misses), measured ms: ${JSON.stringify(measured)}`);
  });

  it('listens on the primary private address only, not on every address', async () => {
    const listening = await net().in(net().nats[1]!, ['ss', '-Hunl', `sport = :${DEFAULT_PEER_PORT}`]);
    expect(listening).toContain(`${NATS[1].address}:${DEFAULT_PEER_PORT}`);
    expect(listening).not.toMatch(/0\.0\.0\.0:4799|\*:4799/);
  });

  it('keeps peers that answer reachable', async () => {
    const [one] = nodes as [PeerNode];
    const from = one.events.length;
    await sleep(5 * INTERVAL_MS);
    expect(one.reportedSince(from).filter((set) => set.length > 0)).toEqual([]);
    expect(one.unreachable).toEqual([]);
  });

  it('reports a peer whose process was killed after three misses, and reachable again once it is back', async () => {
    const [one, two, three] = nodes as [PeerNode, PeerNode, PeerNode];
    const killed = Date.now();
    two.child.kill('SIGKILL');
    measured.killedToUnreachable = await until('NAT 2 unreachable from NAT 1', () => one.unreachable.includes(NATS[1].instanceId));
    await until('NAT 2 unreachable from NAT 3', () => three.unreachable.includes(NATS[1].instanceId));
    expect(one.unreachable).toEqual([NATS[1].instanceId]);
    expect(Date.now() - killed).toBeGreaterThanOrEqual(2 * INTERVAL_MS); // not before two more rounds went unanswered
    nodes[1] = await startWitness(1);
    const restarted = Date.now();
    await until('NAT 2 reachable again from NAT 1', () => one.unreachable.length === 0);
    measured.restartedToReachable = Date.now() - restarted;
    await until('NAT 2 reachable again from NAT 3', () => three.unreachable.length === 0);
  });

  it('reports a peer behind an nft drop of its responder port, and reachable again once the rule is gone', async () => {
    const [one] = nodes as [PeerNode];
    const ns = net().nats[2]!;
    await net().in(ns, ['nft', '-f', '-'], { input: `table inet nbtest {\n chain input {\n type filter hook input priority 0; policy accept;\n udp dport ${DEFAULT_PEER_PORT} drop\n }\n}\n` });
    try {
      measured.dropToUnreachable = await until('NAT 3 unreachable', () => one.unreachable.includes(NATS[2].instanceId));
      expect(one.unreachable).toEqual([NATS[2].instanceId]);
    } finally {
      await net().in(ns, ['nft', 'delete', 'table', 'inet', 'nbtest']);
    }
    measured.undropToReachable = await until('NAT 3 reachable again', () => one.unreachable.length === 0);
    expect(one.unreachable).toEqual([]);
  });

  it('reports a peer whose link went down, and reachable again once it is up', async () => {
    const [one] = nodes as [PeerNode];
    const ns = net().nats[1]!;
    await net().in(ns, ['ip', 'link', 'set', 'eth0', 'down']);
    try {
      measured.linkDownToUnreachable = await until('NAT 2 unreachable', () => one.unreachable.includes(NATS[1].instanceId));
      expect(one.unreachable).toEqual([NATS[1].instanceId]);
    } finally {
      await net().in(ns, ['ip', 'link', 'set', 'eth0', 'up']);
    }
    measured.linkUpToReachable = await until('NAT 2 reachable again', () => one.unreachable.length === 0);
    expect(one.unreachable).toEqual([]);
  });

  it('counts no answer with a wrong nonce, from another port, or with the right nonce from another address', async () => {
    // A witness of its own on another port, whose only peer is a liar at NAT 2 with an accomplice at NAT 3.
    const liar = await start(1, ['liar', NATS[1].address, String(SPOOF_PORT), `${NATS[2].address}:${SPOOF_PORT - 1}`]);
    const accomplice = await start(2, ['relay', NATS[2].address, String(SPOOF_PORT), String(SPOOF_PORT - 1)]);
    const witness = await startWitness(0, SPOOF_PORT, [NATS[1]]);
    measured.liarUnreachable = await until('the liar unreachable', () => witness.unreachable.includes(NATS[1].instanceId));
    const from = witness.events.length;
    await sleep(5 * INTERVAL_MS);
    // The lies did arrive all along (the liar and its accomplice say so), and none turned it reachable.
    expect(liar.events.some((e) => e.event === 'lied')).toBe(true);
    expect(accomplice.events.some((e) => e.event === 'relayed')).toBe(true);
    expect(witness.reportedSince(from)).toEqual([]);
    expect(witness.unreachable).toEqual([NATS[1].instanceId]);
    for (const node of [liar, accomplice, witness]) node.child.kill('SIGKILL');
  });

  it('answers a request with an answer of the same size echoing its nonce, and nothing else at all', async () => {
    const node = await start(0, ['blast', NATS[0].address, `${NATS[1].address}:${DEFAULT_PEER_PORT}`]);
    await until('blast results', () => node.events.some((e) => e.event === 'blast'));
    const { results } = node.events.find((e) => e.event === 'blast') as unknown as { results: { label: string; bytes: number; sent: number; replies: number[]; echoed: boolean }[] };
    for (const result of results) {
      expect(result.replies.length).toBeLessThanOrEqual(result.sent);
      for (const size of result.replies) expect(size).toBeLessThanOrEqual(result.bytes);
    }
    const request = results.find((r) => r.label === 'request')!;
    expect(request.replies.length).toBeGreaterThan(0);
    expect(request).toMatchObject({ bytes: 16, echoed: true });
    expect(results.filter((r) => r.label !== 'request' && r.replies.length > 0)).toEqual([]);
  });
});
