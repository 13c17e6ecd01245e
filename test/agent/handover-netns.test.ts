/**
 * Connection handover on a real kernel: flows through NAT *old*, the private subnet's route moved to
 * NAT *new*; with the built agent's `handover` on *new*, every flow survives (same subnet, and across
 * subnets through the VXLAN tunnel), new connections leave through *new*, set-up is idempotent and
 * tear-down restores *new* exactly. Without handover the same move resets them. Fewer flows and a
 * shorter run than bench:handoff (which publishes the figures).
 * Needs root, ip, nft and nsenter; NATBEAT_REQUIRE_NETNS=1 turns a skip into a failure (CI as root).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentBundle } from './helpers/build-agent';
import { runHandoverScenario, type ScenarioResult } from './helpers/handover-scenario';
import { netnsUnavailableReason } from './helpers/topology';

const netnsReason = netnsUnavailableReason();
if (netnsReason) console.warn(`real-kernel handover tests skipped: ${netnsReason}`);

describe.runIf(process.env.NATBEAT_REQUIRE_NETNS === '1')('Real-kernel prerequisites for handover (NATBEAT_REQUIRE_NETNS=1)', () => {
  it('has root, ip, nft and nsenter', () => {
    expect(netnsReason).toBeUndefined();
  });
});

const CONNECTIONS = 12;
const SECONDS_AFTER_MOVE = 4;
const SCENARIO_TIMEOUT_MS = 60_000;

describe.skipIf(netnsReason !== undefined)('Connection handover on a real kernel', () => {
  let dir = '';
  let bundle = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'natbeat-handover-'));
    bundle = await buildAgentBundle(join(dir, 'natbeat-agent.mjs'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = (variant: 'same-subnet' | 'cross-subnet', handover: boolean, trigger: 'command' | 'tag' = 'command') =>
    runHandoverScenario({ variant, handover, connections: CONNECTIONS, secondsAfterMove: SECONDS_AFTER_MOVE, bundle, trigger });

  function expectLossless(result: ScenarioResult): void {
    expect(result.flows).toMatchObject({ connections: CONNECTIONS, survived: CONNECTIONS, reset: 0, closed: 0, lostData: 0, stalledOver2s: 0 });
    expect(result.flows.maxGapMs).toBeLessThan(2000);
    // Flows kept the old NAT's address; they really went through the handover rule.
    expect(result.flows.addresses).toEqual({ '10.77.0.10': CONNECTIONS });
    expect(result.handedOverPackets).toBeGreaterThan(CONNECTIONS);
    expect(result.newConnectionAddress).toBe(result.newNatAddress);
  }

  function expectIdempotent(result: ScenarioResult): void {
    expect(result.agent?.first).toContain('handing mid-stream flows over to 10.77.0.10');
    expect(result.agent?.second).toContain('already set up, nothing changed');
    expect(result.agent?.stop).toContain('handover stopped');
    expect(result.teardownRestored).toBe(true);
  }

  it('without handover, the move resets the flows (baseline); new connections use the new NAT', async () => {
    const result = await run('same-subnet', false);
    expect(result.flows.survived).toBe(0);
    expect(result.flows.reset).toBe(CONNECTIONS);
    expect(result.newConnectionAddress).toBe(result.newNatAddress);
  }, SCENARIO_TIMEOUT_MS);

  it('same subnet: every flow survives, handed straight to the old NAT', async () => {
    const result = await run('same-subnet', true);
    expectLossless(result);
    expectIdempotent(result);
    expect(result.agent?.first).toContain('directly on eth0');
  }, SCENARIO_TIMEOUT_MS);

  it('across subnets: every flow survives through the VXLAN tunnel', async () => {
    const result = await run('cross-subnet', true);
    expectLossless(result);
    expectIdempotent(result);
    expect(result.agent?.first).toContain('through the VXLAN tunnel');
  }, SCENARIO_TIMEOUT_MS);

  it('run follows the controller\'s tag read through instance metadata, and stops handing over at its deadline', async () => {
    const result = await run('cross-subnet', true, 'tag');
    expectLossless(result);
    expect(result.agent?.first).toContain('handing mid-stream flows over to 10.77.0.10');
    expect(result.agent?.stop).toContain('handover stopped');
    expect(result.teardownRestored).toBe(true);
  }, SCENARIO_TIMEOUT_MS);
});
