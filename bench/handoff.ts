/**
 * Connection handover on a real kernel (root): long-lived TCP flows through NAT *old*, the private
 * subnet's default route moved to NAT *new* mid-stream, flows kept talking. Three runs in one go:
 * the move without handover (baseline), with handover to *old* in the same subnet, and across
 * subnets through the VXLAN tunnel. Prints ONE JSON object:
 *   {"connections", "survived": {"sameSubnet", "crossSubnet"}, "baselineSurvived", "stalledOver2s",
 *    "newConnectionsUseNewNat", "secondsAfterMove", "worstGapMs", "scenarios": [...]}
 * survived = not reset, not closed, no lost or reordered data, never silent > 2 s; stalledOver2s
 * counts the handover runs' flows. Environment: BENCH_CONNECTIONS (default 100), BENCH_SECONDS
 * (default 30, after the move).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAgentBundle } from '../test/agent/helpers/build-agent';
import { runHandoverScenario, type ScenarioResult } from '../test/agent/helpers/handover-scenario';
import { netnsUnavailableReason } from '../test/agent/helpers/topology';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

async function main(): Promise<void> {
  const reason = netnsUnavailableReason();
  if (reason) {
    progress(`cannot run: ${reason}`);
    process.exitCode = 1;
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'natbeat-handoff-'));
  try {
    const bundle = await buildAgentBundle(join(dir, 'natbeat-agent.mjs'));
    const run = (variant: 'same-subnet' | 'cross-subnet', handover: boolean) =>
      runHandoverScenario({ variant, handover, connections: CONNECTIONS, secondsAfterMove: SECONDS, bundle, log: progress });
    const baseline = await run('same-subnet', false);
    const same = await run('same-subnet', true);
    const cross = await run('cross-subnet', true);
    const all: ScenarioResult[] = [baseline, same, cross];
    const output = {
      connections: CONNECTIONS,
      survived: { sameSubnet: same.flows.survived, crossSubnet: cross.flows.survived },
      baselineSurvived: baseline.flows.survived,
      stalledOver2s: same.flows.stalledOver2s + cross.flows.stalledOver2s,
      newConnectionsUseNewNat: all.every((s) => s.newConnectionAddress === s.newNatAddress),
      secondsAfterMove: SECONDS,
      worstGapMs: { sameSubnet: same.flows.maxGapMs, crossSubnet: cross.flows.maxGapMs },
      teardownRestored: same.teardownRestored === true && cross.teardownRestored === true,
      scenarios: all.map((s) => ({
        variant: s.variant,
        handover: s.handover,
        ...s.flows,
        newConnectionAddress: s.newConnectionAddress,
        droppedAtGateway: s.droppedAtGateway,
        ...(s.handedOverPackets === undefined ? {} : { handedOverPackets: s.handedOverPackets }),
      })),
    };
    process.stdout.write(`${JSON.stringify(output)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
