/**
 * The trust rule, measured: one compromised NAT over many seeds (sim/scenarios/compromised-*).
 * (a) healthy peers marked Unhealthy, (b) healthy zones' tables moved or attracted to it,
 * (c) how long a dead NAT whose only witness is the compromised one keeps its table, against the
 * slow path (silence window + schedule + delivery). Counts, not verdicts: the tests assert them.
 */
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import type { ProfileName } from '../params';
import { PROFILES } from '../params';
import type { Random } from '../random';
import { runScenario } from '../run';
import { loadScenario } from '../scenario';
import { gapStats } from '../stats';

export async function trustTrials(profile: ProfileName, runs: number, rng: Random) {
  const p = PROFILES[profile];
  const accuses = { runs, healthyPeersMarked: 0, tablesAttracted: 0, healthyZoneMoves: 0, forgeries: {} as Record<string, number> };
  for (let k = 0; k < runs; k++) {
    const run = await runScenario(loadScenario('compromised-accuses-peers'), 'natbeat', { seed: rng.int(2 ** 31), timeline: false, profile });
    accuses.healthyPeersMarked += run.trust.healthyPeersMarked;
    accuses.tablesAttracted += run.trust.tablesAttracted;
    accuses.healthyZoneMoves += run.trust.healthyZoneMoves;
    for (const [key, n] of Object.entries(run.trust.forgeries)) accuses.forgeries[key] = (accuses.forgeries[key] ?? 0) + n;
  }
  const slowPathSeconds = DEFAULT_CONFIG.silenceSeconds + p.schedulePeriodSeconds + p.scheduleJitterSeconds + p.eventDeliverySeconds.max;
  const written = [];
  let attracted = 0;
  for (let k = 0; k < runs; k++) {
    const run = await runScenario(loadScenario('compromised-shields-dead-peer'), 'natbeat', { seed: rng.int(2 ** 31), timeline: false, profile });
    written.push({ seconds: run.routeWrittenSeconds, unrepaired: run.unrepaired });
    attracted += run.trust.tablesAttracted;
  }
  const stats = gapStats(written);
  return {
    accusesPeers: accuses,
    shieldsDeadPeer: { runs, slowPathSeconds, routeWrittenP50: stats.p50, routeWrittenP99: stats.p99, routeWrittenMax: stats.max, neverRepaired: stats.neverRepaired, withinSlowPath: written.filter((w) => !w.unrepaired && w.seconds <= slowPathSeconds).length, tablesAttracted: attracted },
  };
}
