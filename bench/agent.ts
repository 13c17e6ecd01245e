/**
 * Agent benchmark on a real kernel (root): the built agent runs `run` in a NAT namespace of a
 * throw-away topology, publishing to moto. Prints ONE JSON object:
 *   bundle size; steady-state RSS of the agent and of its probe helper; CPU per cycle (agent +
 *   helper + every ip/nft it spawned, from /proc/<pid>/stat) and the share of a core that makes at a
 *   10 s interval; time from a fault (FORWARD drop policy) to the last healthy and first failing
 *   heartbeat body, as the local intake received it and from the agent's own log (ms); time from the
 *   fault to the signed failure report reaching a local HTTP server posing as the intake (the
 *   agent runs with --report-url, so the request signer is in the RSS figures).
 * Then the peer witness's own cost (bench/peer-witness.ts): CPU and datagrams per second of one of
 * BENCH_PEER_FLEET stand-in NATs (default 3) probing each other, over BENCH_PEER_SECONDS (default 30).
 * Environment: BENCH_CYCLES (default 30), BENCH_INTERVAL seconds (default 1; every cycle publishes).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAgentBundle } from '../test/agent/helpers/build-agent';
import { FakeIntake } from '../test/agent/helpers/fake-intake';
import { startMoto, type MotoServer } from '../test/support/moto';
import { UnixBridge } from '../test/agent/helpers/moto';
import { NAT_PRIVATE_IP, NAT_SUBNET, NatTopology, netnsUnavailableReason, SERVER_IP, SERVER_PORT, VPC_CIDR, waitForExit } from '../test/agent/helpers/topology';
import { measurePeerWitness } from './peer-witness';

const CYCLES = Number(process.env.BENCH_CYCLES ?? 30);
const INTERVAL_S = Number(process.env.BENCH_INTERVAL ?? 1);
const GROUP = `nbbench-${process.pid}`;
// Hex only: the agent and the controller check instance ids against i-<lowercase hex>.
const INSTANCE = `i-0${process.pid.toString(16).padStart(16, '0')}`;
const BRIDGE_PORT = 4566;
/** Port of the bridge to the fake Lambda endpoint inside the NAT namespace. */
const LAMBDA_BRIDGE_PORT = 4567;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** utime + stime + cutime + cstime in ms (children that were waited for included). */
function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0; utime is field 14 → index 11.
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : NaN;
}

async function childPids(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`);
  const children = await Promise.all(tasks.map((task) => readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')));
  return children.join(' ').split(/\s+/).filter(Boolean).map(Number);
}

/** The Environment= settings of the systemd unit, so the figures are those of the deployed agent. */
function unitEnvironment(): Record<string, string> {
  const unit = readFileSync(new URL('../agent/systemd/natbeat-agent.service', import.meta.url), 'utf8');
  return Object.fromEntries([...unit.matchAll(/^Environment="?([A-Z_]+)=([^"\n]*)"?$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

async function main(): Promise<void> {
  const unitEnv = unitEnvironment();
  const reason = netnsUnavailableReason();
  if (reason) throw new Error(`the agent benchmark needs a real kernel: ${reason}`);
  const topology = new NatTopology();
  const dir = await mkdtemp(join(tmpdir(), 'natbeat-bench-'));
  let moto: MotoServer | undefined;
  let bridge: UnixBridge | undefined;
  let intake: FakeIntake | undefined;
  let lambdaBridge: UnixBridge | undefined;
  try {
    const bundle = await buildAgentBundle(join(dir, 'natbeat-agent.mjs'));
    const bundleBytes = (await stat(bundle)).size;
    await topology.create();
    await topology.startServer();
    moto = await startMoto();
    bridge = await UnixBridge.toTcp(Number(new URL(moto.endpoint).port));
    topology.spawnIn(topology.nat, [process.execPath, '-e', bridge.namespaceSideScript(BRIDGE_PORT)]);
    intake = await FakeIntake.start('us-east-1');
    lambdaBridge = await UnixBridge.toTcp(intake.port);
    topology.spawnIn(topology.nat, [process.execPath, '-e', lambdaBridge.namespaceSideScript(LAMBDA_BRIDGE_PORT)]);
    const flags = ['--vpc-cidr', VPC_CIDR, '--subnet-cidr', NAT_SUBNET, '--probe-namespace', topology.probe, '--probe-target', `${SERVER_IP}:${SERVER_PORT}`, '--interval', String(INTERVAL_S)];
    await topology.in(topology.nat, [process.execPath, bundle, 'setup', ...flags]);

    const agent = topology.spawnIn(topology.nat, [process.execPath, bundle, 'run', ...flags, '--heartbeat-period', String(INTERVAL_S)], {
      ...process.env,
      NATBEAT_INSTANCE_ID: INSTANCE,
      NATBEAT_AVAILABILITY_ZONE: 'us-east-1a',
      NATBEAT_GROUP_NAME: GROUP,
      // The agent's own peer witness listens here (it has no peers: the fake intake lists none).
      NATBEAT_PEER_ADDRESS: NAT_PRIVATE_IP,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${BRIDGE_PORT}`,
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${LAMBDA_BRIDGE_PORT}/`,
      NATBEAT_REPORT_URL: 'https://natbeatbench0123456789.lambda-url.us-east-1.on.aws/',
      // The fake intake checks the signature against these.
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      NATBEAT_DEBUG: '1',
      ...unitEnv,
    });
    let log = '';
    agent.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const pid = agent.pid as number;

    progress('warming up (5 cycles)');
    await sleep(5 * INTERVAL_S * 1000);
    // The long-lived probe helper only: a cycle's own ip/nft children live for milliseconds and
    // may be gone by the time their /proc entry is read, so keep the children seen twice.
    const firstLook = await childPids(pid);
    await sleep(500);
    const secondLook = new Set(await childPids(pid));
    const helpers = firstLook.filter((child) => secondLook.has(child));
    const cpuOf = () => cpuMs(pid) + helpers.reduce((sum, helper) => sum + cpuMs(helper), 0);
    const cpuStart = cpuOf();
    progress(`measuring ${CYCLES} cycles at ${INTERVAL_S} s`);
    const rssSamples: number[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await sleep(INTERVAL_S * 1000);
      rssSamples.push(rssKiB(pid));
    }
    const cpuPerCycleMs = (cpuOf() - cpuStart) / CYCLES;
    const helperRssKiB = helpers.reduce((sum, helper) => sum + rssKiB(helper), 0);

    progress('injecting a FORWARD drop policy');
    const faultAt = Date.now();
    await topology.in(topology.nat, ['nft', '-f', '-'], { input: 'table inet nbbench_fault {\n chain forward {\n  type filter hook forward priority 0; policy drop;\n }\n}\n' });
    const statusOf = (report: { body: unknown }) => (report.body as { status?: string }).status;
    for (let attempt = 0; attempt < 40 && !intake.reports.some((r) => r.at >= faultAt && statusOf(r) === 'failing'); attempt++) await sleep(250);
    // When the fake intake received them (ms).
    const firstFailing = Math.min(...intake.reports.filter((r) => r.at >= faultAt && statusOf(r) === 'failing').map((r) => r.at));
    const lastHealthy = Math.max(...intake.reports.filter((r) => r.at < firstFailing && statusOf(r) === 'ok').map((r) => r.at));
    const logged = log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { time: string; message: string })
      .map((entry) => ({ at: Date.parse(entry.time), message: entry.message }));
    const failingLoggedAt = Math.min(...logged.filter((e) => e.message.startsWith('sent failing heartbeat') && e.at >= faultAt).map((e) => e.at));
    const healthyLoggedAt = Math.max(...logged.filter((e) => e.message === 'sent healthy heartbeat' && e.at < failingLoggedAt).map((e) => e.at));
    const bodies = intake.reports.length;

    agent.kill('SIGTERM');
    const stopStarted = Date.now();
    const exitCode = await waitForExit(agent, 5000);
    const stopMs = Date.now() - stopStarted;

    if (exitCode !== 0 || Number.isNaN(failingLoggedAt)) progress(`agent exited ${exitCode}; log tail:\n${log.slice(-3000)}`);
    const peerWitness = await measurePeerWitness({ fleet: Number(process.env.BENCH_PEER_FLEET ?? 3), seconds: Number(process.env.BENCH_PEER_SECONDS ?? 30), log: progress });
    const sorted = [...rssSamples].sort((a, b) => a - b);
    const result = {
      bundleBytes,
      intervalSeconds: INTERVAL_S,
      cyclesMeasured: CYCLES,
      agentRssMiB: { median: +((sorted[Math.floor(sorted.length / 2)] ?? NaN) / 1024).toFixed(1), max: +(Math.max(...rssSamples) / 1024).toFixed(1) },
      helperRssMiB: +(helperRssKiB / 1024).toFixed(1),
      helperProcesses: helpers.length,
      cpuMsPerCycle: +cpuPerCycleMs.toFixed(2),
      cpuPercentOfCoreAt10sInterval: +((cpuPerCycleMs / 10_000) * 100).toFixed(3),
      cpuPercentOfCoreAtMeasuredInterval: +((cpuPerCycleMs / (INTERVAL_S * 1000)) * 100).toFixed(2),
      fault: 'FORWARD chain policy drop in another nftables table',
      // From the agent's log (ms): when the intake's answer came back.
      faultToLastHealthyPublishMs: healthyLoggedAt - faultAt,
      faultToFirstFailingPublishMs: failingLoggedAt - faultAt,
      // When the fake intake received the signed bodies (ms), and how many arrived in the run.
      faultToLastHealthyBodyMs: lastHealthy - faultAt,
      faultToFirstFailingBodyMs: firstFailing - faultAt,
      bodiesReceived: bodies,
      unitEnvironment: unitEnv,
      sigtermExit: { code: exitCode, ms: stopMs },
      peerWitness,
      targets: { rssMiB: 70, cpuPercentAt10sInterval: 1 },
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    progress(
      `agent RSS ${result.agentRssMiB.median} MiB (+ helper ${result.helperRssMiB} MiB), ${result.cpuMsPerCycle} ms CPU per cycle ` +
        `(${result.cpuPercentOfCoreAt10sInterval} % of a core at a 10 s interval); failing heartbeat ${result.faultToFirstFailingPublishMs} ms ` +
        `(received ${result.faultToFirstFailingBodyMs} ms) after the fault; peer witness (${peerWitness.fleet} NATs) ` +
        `${peerWitness.cpuMsPerSecond} ms CPU/s, ${peerWitness.packetsPerSecond.sent} datagrams/s out, ${peerWitness.packetsPerSecond.received} in`,
    );
  } finally {
    await topology.destroy();
    await bridge?.close();
    await lambdaBridge?.close();
    await intake?.stop();
    await moto?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
