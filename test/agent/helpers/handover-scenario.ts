/**
 * One route move measured on a real kernel: long-lived TCP flows from the private hosts through NAT
 * *old*, the private subnet's default route moved to NAT *new* mid-stream, the flows kept talking,
 * then each flow's fate counted (reset, closed, lost or out-of-order data, stalled > 2 s). With
 * `handover`, the built agent's `handover` command runs on *new* before the move (as `run` does when
 * it sees the controller's tag), twice (the second run must change nothing), and `--stop` after:
 * the NAT's state must then be what it was before. Shared by the real-kernel test and bench:handoff.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { formatHandoverTag, HANDOVER_TAG_KEY } from '../../../common/handover';
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
  /**
   * How *new* learns it: `command` runs `handover --handover-from` (twice) and `--stop`; `tag` runs
   * the agent's `run` against a stand-in instance metadata service serving the controller's tag,
   * whose deadline passes just after the flows stop, so `run` must stop handing over by itself.
   */
  trigger?: 'command' | 'tag';
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
  /** Log lines of the agent's first and second `handover` run, and of `--stop` (trigger `tag`: of `run`, in `first`). */
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
    topology.in(ns, ['ip', '-4', 'rule', 'show']),
    // IPv4 only: handover touches no IPv6, and the kernel adds IPv6 link-local routes to fresh links
    // a second or so after they come up, whenever that happens to fall.
    topology.in(ns, ['ip', '-4', 'route', 'show', 'table', 'all']),
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
      const flags = ['--egress-interface', 'eth0', '--vpc-cidr', HANDOVER_VPC_CIDR, '--subnet-cidr', topology.subnets[ns] as string];
      const result = await topology.run(ns, [process.execPath, options.bundle, ...args, ...flags]);
      if (result.code !== 0) throw new Error(`natbeat-agent ${args.join(' ')} in ${ns} exited ${result.code}: ${result.stderr}`);
      return result.stderr;
    };
    await agent(topology.old, ['setup', '--probe-namespace', topology.probes.old]);
    await agent(topology.new, ['setup', '--probe-namespace', topology.probes.new]);
    await topology.startFlowServer();

    let before = '';
    let tagFile: string | undefined;
    let runLog: (() => string) | undefined;
    if (options.handover && options.trigger === 'tag') {
      // Before the flows start: `run` takes a few seconds to come up on a busy machine.
      before = await natState(topology, topology.new);
      tagFile = join(await mkdtemp(join(tmpdir(), 'natbeat-tag-')), 'tag');
      await writeFile(tagFile, formatHandoverTag({ address: OLD_NAT_IP, until: new Date(Date.now() + 600_000) }));
      runLog = await startAgentRun(topology, options.bundle, tagFile);
    }
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
    if (options.handover) {
      if (runLog) {
        agentLines = { first: runLog(), second: '', stop: '' };
      } else {
        before = await natState(topology, topology.new);
        const first = await agent(topology.new, ['handover', '--handover-from', OLD_NAT_IP]);
        const second = await agent(topology.new, ['handover', '--handover-from', OLD_NAT_IP]);
        agentLines = { first, second, stop: '' };
      }
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
    // Read before handover ends (the flows have stopped; the tag's deadline is still ahead).
    let handedOverPackets: number | undefined;
    if (options.handover) {
      const marks = await topology.in(topology.new, ['nft', 'list', 'table', 'ip', 'natbeat_handover']);
      handedOverPackets = Number(/counter packets (\d+)/.exec(marks)?.[1] ?? NaN);
    }
    let teardownRestored: boolean | undefined;
    if (agentLines && runLog && tagFile) {
      // The controller's deadline comes: one second from now.
      await writeFile(tagFile, formatHandoverTag({ address: OLD_NAT_IP, until: new Date(Date.now() + 1000) }));
      await waitUntil(() => runLog!().includes('handover stopped'), 10_000);
      await rm(dirname(tagFile), { recursive: true, force: true });
      agentLines.stop = runLog();
      teardownRestored = (await natState(topology, topology.new)) === before;
    } else if (agentLines) {
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

/** Port of the stand-in instance metadata service inside *new*. */
const IMDS_PORT = 8181;

/**
 * `natbeat-agent run` in *new*, everything configured by flags except the handover tag, which a
 * stand-in metadata service serves from `tagFile` (the test rewrites it as the controller would); CloudWatch unreachable (publishing fails; the agent carries on).
 * Resolves once the agent says it hands over; returns its log so far, growing.
 */
async function startAgentRun(topology: HandoverTopology, bundle: string, tagFile: string): Promise<() => string> {
  const imds = topology.spawnIn(topology.new, [
    process.execPath,
    '-e',
    `const [port, tagFile] = process.argv.slice(1);
     require('http').createServer((q, s) => {
       if (q.method === 'PUT' && q.url === '/latest/api/token') return s.end('token');
       if (q.url === '/latest/meta-data/tags/instance/${HANDOVER_TAG_KEY}') return s.end(require('fs').readFileSync(tagFile));
       s.statusCode = 404; s.end();
     }).listen(Number(port), '127.0.0.1', () => console.log('listening'));`,
    String(IMDS_PORT),
    tagFile,
  ]);
  await waitForLine(imds, 'listening');
  const agent = topology.spawnIn(
    topology.new,
    [
      process.execPath, bundle, 'run',
      '--egress-interface', 'eth0', '--vpc-cidr', HANDOVER_VPC_CIDR, '--subnet-cidr', topology.subnets[topology.new] as string,
      '--probe-namespace', topology.probes.new, '--probe-target', `${FLOW_SERVER_IP}:${FLOW_SERVER_PORT}`,
      '--instance-id', 'i-0feed0001', '--availability-zone', 'us-east-1a', '--group-name', 'nbh-group', '--region', 'us-east-1',
      '--imds-endpoint', `http://127.0.0.1:${IMDS_PORT}`, '--no-peer-probe',
      // Required by run; AWS_ENDPOINT_URL below sends every body to a closed port: only the tag matters here.
      '--report-url', 'https://handover.lambda-url.us-east-1.on.aws/',
    ],
    { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  );
  const log = collect(agent);
  await waitForLine(agent, 'handing mid-stream flows over', 15_000);
  return log;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(200);
  }
}

function mergeCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const merged = { ...a };
  for (const [key, value] of Object.entries(b)) merged[key] = (merged[key] ?? 0) + value;
  return merged;
}
