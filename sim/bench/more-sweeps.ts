/**
 * The bench's sweeps beyond the evaluation range and route propagation, by name:
 *  - heartbeat: the heartbeat period (2, 5, 10, 30 s; the silence window keeps its ratio to it)
 *    against silent-death p99 (3 and 2 AZs), routing failure, and the controller's cost;
 *  - intake: the intake's request latency (the report's way in);
 *  - visibility: CloudWatch's metric visibility delay, the term the old heartbeat path waits on
 *    (PutMetricData: "a few seconds"; EMF log lines add an undocumented extraction delay, so the
 *    longer values are the EMF row);
 *  - silence: the silence window against false moves over a quiet fleet.
 */
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import { fixed } from '../random';
import type { ProfileName } from '../params';
import type { Random } from '../random';
import { quiet, trials, type TrialStats } from './trials';

export const SWEEPS = ['heartbeat', 'intake', 'visibility', 'silence'] as const;
export type SweepName = (typeof SWEEPS)[number];

/** The figures a sweep row needs. */
export function brief(s: TrialStats) {
  return { p50: s.p50, p99: s.p99, routeWrittenP99: s.routeWrittenP99, falseRouteMoves: s.falseRouteMoves, flowsResetPerTrial: s.flowsResetPerTrial, neverRepaired: s.neverRepaired };
}

export async function moreSweeps(names: SweepName[], profile: ProfileName, count: number, sweepTrials: number, quietRuns: number, rng: Random, costPerAz: (heartbeatPeriodSeconds: number) => number) {
  const out: Record<string, unknown> = {};
  const run = (name: string, n: number, overrides: Parameters<typeof trials>[5]) => trials(profile, name, 'natbeat', n, rng, overrides).then(brief);
  if (names.includes('heartbeat')) {
    const rows = [];
    for (const period of [2, 5, 10, 30]) {
      const silenceSeconds = Math.round(period * (DEFAULT_CONFIG.silenceSeconds / DEFAULT_CONFIG.heartbeatPeriodSeconds));
      const overrides = { world: { heartbeatPeriodSeconds: period }, controller: { heartbeatPeriodSeconds: period, silenceSeconds } };
      rows.push({
        heartbeatPeriodSeconds: period,
        silenceSeconds,
        routingFailure: await run('routing-failure', sweepTrials, overrides),
        silentDeath: await run('silent-death', sweepTrials, overrides),
        silentDeath2Az: await run('silent-death-2az', sweepTrials, overrides),
        controllerPerAzMonthUsd: costPerAz(period),
      });
    }
    out.heartbeat = rows;
  }
  if (names.includes('intake')) {
    const rows = [];
    for (const ms of [25, 100, 300, 1000]) {
      const overrides = { world: { intakeRequestLatencyMs: fixed(ms) } };
      rows.push({ intakeRequestMs: ms, routingFailure: await run('routing-failure', sweepTrials, overrides), silentDeath: await run('silent-death', sweepTrials, overrides) });
    }
    out.intakeLatency = rows;
  }
  if (names.includes('visibility')) {
    const rows = [];
    for (const seconds of [0, 5, 10, 20, 30, 60]) {
      const overrides = { world: { metricVisibilitySeconds: fixed(seconds) } };
      rows.push({ metricVisibilitySeconds: seconds, routingFailure: await run('routing-failure', sweepTrials, overrides), silentDeath: await run('silent-death', sweepTrials, overrides) });
    }
    out.visibility = rows;
  }
  if (names.includes('silence')) {
    // How soon a silent NAT is acted on, against how often a healthy one looks silent.
    const rows = [];
    for (const silenceSeconds of [15, 20, 25]) {
      const row: Record<string, unknown> = { silenceSeconds };
      for (const maxVisibility of [5, 10, 15]) {
        const overrides = { controller: { silenceSeconds }, world: { metricVisibilitySeconds: { min: 5, max: maxVisibility } } };
        row[`visibility5to${maxVisibility}s`] = {
          silentDeath: await run('silent-death', maxVisibility === 10 ? count : sweepTrials, overrides),
          quietFleet: await quiet(profile, quietRuns, rng, overrides),
        };
      }
      rows.push(row);
    }
    out.silence = rows;
  }
  return out;
}
