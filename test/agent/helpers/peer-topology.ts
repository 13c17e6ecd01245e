/**
 * Stand-in NATs for the peer witness on a real kernel: one network namespace each, all on one
 * bridge (a namespace of its own), addresses 10.88.0.<n>/24, each able to run the bundled
 * peer-node.ts (the agent's peer witness, or a liar, a relay, a blaster). Shared by the
 * real-kernel test and bench:agent.
 */
import { build } from 'esbuild';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { IntakePeer } from '../../../common/intake-contract';
import { NODE_BUNDLE_OPTIONS } from '../../../scripts/bundle-options';
import { REPO_ROOT } from './build-agent';
import { NamespaceSet, sh, waitForLine } from './topology';

export const peerAt = (n: number): IntakePeer => ({ instanceId: `i-0${n}`, address: `10.88.0.${n}`, availabilityZone: `zone-${n}` });

/** Bundles test/agent/helpers/peer-node.ts to `outFile`. */
export async function buildPeerNode(outFile: string): Promise<string> {
  await build({ absWorkingDir: REPO_ROOT, entryPoints: [resolve(REPO_ROOT, 'test/agent/helpers/peer-node.ts')], outfile: outFile, ...NODE_BUNDLE_OPTIONS });
  return outFile;
}

/** A stand-in's stdout as JSON events, with the latest unreachable set. */
export class PeerNode {
  readonly events: { event: string; peers?: string[]; at?: number }[] = [];
  constructor(readonly child: ChildProcess) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('{')) this.events.push(JSON.parse(line));
    });
  }

  get unreachable(): string[] {
    return this.events.filter((e) => e.event === 'unreachable').at(-1)?.peers ?? [];
  }

  /** Every unreachable set it reported since event index `from`. */
  reportedSince(from: number): string[][] {
    return this.events.slice(from).flatMap((e) => (e.event === 'unreachable' ? [e.peers ?? []] : []));
  }
}

export class PeerTopology extends NamespaceSet {
  readonly bridge = this.name('pbr');
  readonly nats: string[];
  readonly peers: IntakePeer[];

  constructor(
    count: number,
    private readonly script: string,
  ) {
    super();
    this.peers = Array.from({ length: count }, (_, i) => peerAt(i + 1));
    this.nats = this.peers.map((_, i) => this.name(`pn${i + 1}`));
  }

  async create(): Promise<void> {
    await sh(['ip', 'netns', 'add', this.bridge]);
    await sh(['ip', '-n', this.bridge, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh(['ip', '-n', this.bridge, 'link', 'set', 'br0', 'up']);
    for (const [i, ns] of this.nats.entries()) {
      await sh(['ip', 'netns', 'add', ns]);
      await sh(['ip', '-n', this.bridge, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await sh(['ip', '-n', this.bridge, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      await sh(['ip', '-n', ns, 'addr', 'add', `${this.peers[i]!.address}/24`, 'dev', 'eth0']);
      await sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
  }

  /** Starts peer-node.ts with `args` in stand-in `index` and waits for it to say it is ready. */
  async start(index: number, args: string[], timeoutMs = 30_000): Promise<PeerNode> {
    const child = this.spawnIn(this.nats[index]!, [process.execPath, this.script, ...args]);
    const node = new PeerNode(child);
    await waitForLine(child, '"event":"ready"', timeoutMs);
    return node;
  }

  /** The agent's peer witness in stand-in `index`, probing `peers` (default: every other stand-in). */
  startWitness(index: number, port: number, intervalMs: number, peers = this.peers.filter((_, i) => i !== index)): Promise<PeerNode> {
    return this.start(index, ['witness', this.peers[index]!.address, String(port), String(intervalMs), JSON.stringify(peers)]);
  }
}
