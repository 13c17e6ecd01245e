/**
 * One route move measured on a real kernel: long-lived TCP flows from the private hosts through NAT
 * *old*, the private subnet's default route moved to NAT *new* mid-stream, the flows kept talking,
 * then each flow's fate counted (reset, closed, lost or out-of-order data, stalled > 2 s). With
 * `handover`, the built agent's `handover` command runs on *new* before the move (as `run` does when
 * it sees the controller's tag), twice (the second run must change nothing), and `--stop` after:
 * the NAT's state must then be what it was before. Shared by the real-kernel test and bench:handoff.
 */
import type { ChildProcess } from 'node:child_process';
import {
  FLOW_SCRIPTS,
  FLOW_SERVER_IP,
  FLOW_SERVER_PORT,
  HANDOVER_VPC_CIDR,
  HandoverTopology,
  OLD_NAT_IP,
  type HandoverVariant,
} from './handover-topology';
import { waitForExit, waitForLine } from './topology';

export interface ScenarioOptions {
  variant: HandoverVariant;
  handover: boolean;
  connections: number;
  /** How long the flows keep talking after the move. */
  secondsAfterMove: number;
  /** The built agent (natbeat-agent.mjs). */
  bundle: string;
  log?: (message: string) => void;
}

export interface FlowSummary {
  connections: number;
  survived: number;
  reset: number;
  closed: number;
  lostData: number;
  stalledOver2s: number;
  maxGapMs: number;
  addresses: Record<string, number>;
  errors: Record<string, number>;
}

export interface ScenarioResult {
  variant: HandoverVariant;
  handover: boolean;
  flows: FlowSummary;
  /** The address the server saw for a connection opened after the move. */
  newConnectionAddress: string | undefined;
  newNatAddress: string;
  /** Packets the internet gateway refused (neither from nor to a NAT address). */
  droppedAtGateway: number;
  /** Log lines of the agent's first and second `handover` run, and of `--stop`. */
  agent?: { first: string; second: string; stop: string };
  /** Packets *new* marked and handed over (the mark rule's counter), read before `--stop`. */
  handedOverPackets?: number;
  /** Whether `--stop` left the new NAT exactly as it was before `handover`. */
  teardownRestored?: boolean;
}

/** Warm-up before the move: every flow has exchanged a few messages through *old*. */
const WARMUP_MS = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function lastJsonLine<T>(text: string): T {
  const line = text.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`no JSON in output: ${text.slice(-500)}`);
  return JSON.parse(line) as T;
}

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return () => out;
}

/** Everything handover may touch on a NAT, to compare before set-up and after tear-down. */
async function natState(topology: HandoverTopology, ns: string): Promise<string> {
  const parts = await Promise.all([
    topology.in(ns, ['nft', 'list', 'ruleset']),
    topology.in(ns, ['ip', 'rule', 'show']),
    topology.in(ns, ['ip', 'route', 'show', 'table', 'all']),
    topology.in(ns, ['ip', '-d', 'link', 'show']),
    topology.in(ns, ['ip', 'neigh', 'show', 'nud', 'permanent']),
    topology.in(ns, ['cat', '/proc/sys/net/netfilter/nf_conntrack_tcp_loose']),
  ]);
  // Link counters and the like do not matter; link flags and VXLAN settings do.
  return parts.join('\n---\n').replace(/ (?:link-netns|link-netnsid) \S+/g, '');
}

export async function runHandoverScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const log = options.log ?? (() => undefined);
  const topology = new HandoverTopology(options.variant);
  try {
    await topology.create();
    const agent = async (ns: string, args: string[]) => {
      const result = await topology.run(ns, [process.execPath, options.bundle, ...args, '--egress-interface', 'eth0', '--vpc-cidr', HANDOVER_VPC_CIDR]);
      if (result.code !== 0) throw new Error(`natbeat-agent ${args.join(' ')} in ${ns} exited ${result.code}: ${result.stderr}`);
      return result.stderr;
    };
    await agent(topology.old, ['setup', '--probe-namespace', topology.probes.old]);
    await agent(topology.new, ['setup', '--probe-namespace', topology.probes.new]);
    await topology.startFlowServer();

    const hosts = topology.hosts;
    const share = (index: number) => Math.floor(options.connections / hosts.length) + (index < options.connections % hosts.length ? 1 : 0);
    const totalSeconds = (WARMUP_MS + 500) / 1000 + options.secondsAfterMove;
    const clients = hosts.map((host, index) =>
      topology.spawnIn(host, [process.execPath, FLOW_SCRIPTS.client, FLOW_SERVER_IP, String(FLOW_SERVER_PORT), String(share(index)), String(totalSeconds)]),
    );
    const outputs = clients.map(collect);
    await Promise.all(clients.map((client) => waitForLine(client, 'ready', 30_000)));
    const readyAt = Date.now();
    log(`${options.variant}${options.handover ? '' : ' (no handover)'}: ${options.connections} flows through ${OLD_NAT_IP}`);

    let agentLines: ScenarioResult['agent'];
    let before = '';
    if (options.handover) {
      before = await natState(topology, topology.new);
      const first = await agent(topology.new, ['handover', '--handover-from', OLD_NAT_IP]);
      const second = await agent(topology.new, ['handover', '--handover-from', OLD_NAT_IP]);
      agentLines = { first, second, stop: '' };
    }
    await sleep(Math.max(0, readyAt + WARMUP_MS - Date.now()));
    await topology.routePrivateSubnet(topology.newAddress);
    log(`route moved to ${topology.newAddress}`);
    await sleep(1000);
    const probe = await topology.run(hosts[0], [process.execPath, FLOW_SCRIPTS.client, FLOW_SERVER_IP, String(FLOW_SERVER_PORT), 'probe']);
    const newConnectionAddress = probe.code === 0 ? lastJsonLine<{ address: string }>(probe.stdout).address : undefined;

    const deadline = (totalSeconds + 15) * 1000;
    const codes = await Promise.all(clients.map((client) => waitForExit(client, deadline)));
    if (codes.some((code) => code !== 0)) throw new Error(`flow client failed: ${outputs.map((out) => out().slice(-500)).join('\n')}`);
    const parts = outputs.map((out) => lastJsonLine<FlowSummary>(out()));
    const flows = parts.reduce<FlowSummary>(
      (sum, part) => ({
        connections: sum.connections + part.connections,
        survived: sum.survived + part.survived,
        reset: sum.reset + part.reset,
        closed: sum.closed + part.closed,
        lostData: sum.lostData + part.lostData,
        stalledOver2s: sum.stalledOver2s + part.stalledOver2s,
        maxGapMs: Math.max(sum.maxGapMs, part.maxGapMs),
        addresses: mergeCounts(sum.addresses, part.addresses),
        errors: mergeCounts(sum.errors, part.errors),
      }),
      { connections: 0, survived: 0, reset: 0, closed: 0, lostData: 0, stalledOver2s: 0, maxGapMs: 0, addresses: {}, errors: {} },
    );
    let teardownRestored: boolean | undefined;
    let handedOverPackets: number | undefined;
    if (agentLines) {
      const marks = await topology.in(topology.new, ['nft', 'list', 'table', 'ip', 'natbeat_handover']);
      handedOverPackets = Number(/counter packets (\d+)/.exec(marks)?.[1] ?? NaN);
      agentLines.stop = await agent(topology.new, ['handover', '--stop']);
      teardownRestored = (await natState(topology, topology.new)) === before;
    }
    const result: ScenarioResult = {
      variant: options.variant,
      handover: options.handover,
      flows,
      newConnectionAddress,
      newNatAddress: topology.newAddress,
      droppedAtGateway: await topology.droppedAtGateway(),
      ...(agentLines ? { agent: agentLines, teardownRestored, handedOverPackets } : {}),
    };
    log(`${flows.survived}/${flows.connections} survived, ${flows.reset} reset, ${flows.stalledOver2s} stalled > 2 s, worst gap ${flows.maxGapMs} ms`);
    return result;
  } finally {
    await topology.destroy();
  }
}

function mergeCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const merged = { ...a };
  for (const [key, value] of Object.entries(b)) merged[key] = (merged[key] ?? 0) + value;
  return merged;
}
