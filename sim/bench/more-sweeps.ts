/**
 * The bench's optional sweeps (--more-sweeps): the heartbeat period, the controller's silence
 * window against false moves over a quiet fleet, the visibility delay.
 */
import { DEFAULT_CONFIG } from '../../lambdas/core/config';
import type { ProfileName } from '../params';
import type { Random } from '../random';
import { quiet, trials } from './trials';

export async function moreSweeps(profile: ProfileName, count: number, sweepTrials: number, quietRuns: number, rng: Random, costPerAz: (heartbeatPeriodSeconds: number) => number) {
  // The controller's silence window scales with the heartbeat period (default 25 s at 10 s).
  const heartbeat = [];
  for (const period of [5, 10, 20, 30]) {
    const silenceSeconds = Math.round(period * (DEFAULT_CONFIG.silenceSeconds / DEFAULT_CONFIG.heartbeatPeriodSeconds));
    const overrides = { world: { heartbeatPeriodSeconds: period }, controller: { heartbeatPeriodSeconds: period, silenceSeconds } };
    heartbeat.push({
      heartbeatPeriodSeconds: period,
      silenceSeconds,
      routingFailure: await trials(profile, 'routing-failure', 'natbeat', sweepTrials, rng, overrides),
      silentDeath: await trials(profile, 'silent-death', 'natbeat', sweepTrials, rng, overrides),
      controllerPerAzMonthUsd: costPerAz(period),
    });
  }
  // How soon a silent NAT is acted on, against how often a healthy one looks silent.
  const silence = [];
  for (const silenceSeconds of [15, 20, 25]) {
    const row: Record<string, unknown> = { silenceSeconds };
    for (const maxVisibility of [5, 10, 15]) {
      const overrides = { controller: { silenceSeconds }, world: { metricVisibilitySeconds: { min: 5, max: maxVisibility } } };
      row[`visibility5to${maxVisibility}s`] = {
        silentDeath: await trials(profile, 'silent-death', 'natbeat', maxVisibility === 10 ? count : sweepTrials, rng, overrides),
        quietFleet: await quiet(profile, quietRuns, rng, overrides),
      };
    }
    silence.push(row);
  }
  const visibility = [];
  for (const seconds of [0, 2, 5, 10, 15]) {
    const overrides = { world: { metricVisibilitySeconds: { min: seconds, max: seconds } } };
    visibility.push({
      metricVisibilitySeconds: seconds,
      routingFailure: await trials(profile, 'routing-failure', 'natbeat', sweepTrials, rng, overrides),
      silentDeath: await trials(profile, 'silent-death', 'natbeat', sweepTrials, rng, overrides),
    });
  }
  return { heartbeat, silence, visibility };
}
