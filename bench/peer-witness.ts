/**
 * The peer witness's own cost, for bench:agent: a fleet of stand-in NATs (network namespaces on a
 * bridge), each running the agent's peer witness (responder + prober, the same code `run` starts)
 * probing all the others every second; one of them is measured over a window: CPU of its process
 * (the witness alone in a bare Node process, so an upper bound of what it adds to the agent) and
 * the datagrams and bytes on its interface (everything on the wire: ARP included).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PEER_PORT } from '../common/intake-contract';
import { buildPeerNode, PeerTopology } from '../test/agent/helpers/peer-topology';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ([11, 12].reduce((sum, index) => sum + Number(fields[index]), 0) * 1000) / TICKS_PER_SECOND;
}

interface LinkStats {
  rx: { packets: number; bytes: number };
  tx: { packets: number; bytes: number };
}

async function linkStats(topology: PeerTopology, ns: string): Promise<LinkStats> {
  const [link] = JSON.parse(await topology.in(ns, ['ip', '-s', '-j', 'link', 'show', 'eth0'])) as { stats64: LinkStats }[];
  return link!.stats64;
}

export interface PeerWitnessCost {
  fleet: number;
  intervalSeconds: number;
  secondsMeasured: number;
  cpuMsPerSecond: number;
  cpuPercentOfCore: number;
  /** Measured on the NAT's interface; expected: 2 × (fleet − 1) each way (requests and answers). */
  packetsPerSecond: { sent: number; received: number; expectedEachWay: number };
  bytesPerSecond: { sent: number; received: number };
  /** Unreachable peers the measured witness reported in a fault-free fleet (must be 0). */
  falseUnreachableReports: number;
}

export async function measurePeerWitness(options: { fleet: number; seconds: number; log: (message: string) => void }): Promise<PeerWitnessCost> {
  const dir = await mkdtemp(join(tmpdir(), 'natbeat-peer-bench-'));
  const topology = new PeerTopology(options.fleet, await buildPeerNode(join(dir, 'peer-node.mjs')));
  try {
    await topology.create();
    const nodes = [];
    for (let index = 0; index < options.fleet; index++) nodes.push(await topology.startWitness(index, DEFAULT_PEER_PORT, 1000));
    const measured = nodes[0]!;
    options.log(`peer witness: ${options.fleet} stand-in NATs probing each other every 1 s; warming up 3 s, then measuring ${options.seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const pid = measured.child.pid as number;
    const cpuStart = cpuMs(pid);
    const statsStart = await linkStats(topology, topology.nats[0]!);
    const eventsStart = measured.events.length;
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
    const seconds = (Date.now() - started) / 1000;
    const cpu = cpuMs(pid) - cpuStart;
    const stats = await linkStats(topology, topology.nats[0]!);
    const perSecond = (value: number) => +(value / seconds).toFixed(2);
    return {
      fleet: options.fleet,
      intervalSeconds: 1,
      secondsMeasured: +seconds.toFixed(1),
      cpuMsPerSecond: perSecond(cpu),
      cpuPercentOfCore: +((cpu / (seconds * 1000)) * 100).toFixed(3),
      packetsPerSecond: { sent: perSecond(stats.tx.packets - statsStart.tx.packets), received: perSecond(stats.rx.packets - statsStart.rx.packets), expectedEachWay: 2 * (options.fleet - 1) },
      bytesPerSecond: { sent: perSecond(stats.tx.bytes - statsStart.tx.bytes), received: perSecond(stats.rx.bytes - statsStart.rx.bytes) },
      falseUnreachableReports: measured.reportedSince(eventsStart).filter((set) => set.length > 0).length,
    };
  } finally {
    await topology.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}
