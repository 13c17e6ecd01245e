import { describe, expect, it } from 'vitest';
import { DEFAULT_WORLD_PARAMS, OPTIMISTIC_WORLD_PARAMS, PESSIMISTIC_WORLD_PARAMS, profileNamed } from '../../sim/params';

describe('World profiles', () => {
  it('pessimistic is the default and has exactly the values the published figures rest on', () => {
    expect(DEFAULT_WORLD_PARAMS).toBe(PESSIMISTIC_WORLD_PARAMS);
    expect(PESSIMISTIC_WORLD_PARAMS).toMatchObject({
      alarmEvaluationRangePeriods: 4,
      metricVisibilitySeconds: { min: 5, max: 10 },
      eventDeliverySeconds: { min: 1.5, max: 4.5 },
      lambdaAsyncInvokeDelayMs: { min: 200, max: 3000 },
      mutatingApiLatencyMs: { min: 50, max: 300 },
      lambdaColdStartMs: 800,
      routePropagationSeconds: 2,
      lambdaThrottleBackoff: true,
      handoverOnPlannedMoves: false,
    });
  });

  it('optimistic keeps the first model: range 2, fixed 5 s visibility, 0.5–1.5 s delivery, 300 ms cold start, instant routes', () => {
    expect(OPTIMISTIC_WORLD_PARAMS).toMatchObject({
      alarmEvaluationRangePeriods: 2,
      metricVisibilitySeconds: { min: 5, max: 5 },
      eventDeliverySeconds: { min: 0.5, max: 1.5 },
      lambdaColdStartMs: 300,
      routePropagationSeconds: 0,
      scheduleJitterSeconds: 0,
      lambdaThrottleBackoff: false,
    });
  });

  it('the profiles differ only in the documented-or-guessed latencies, not in the deployment', () => {
    const differing = Object.keys(PESSIMISTIC_WORLD_PARAMS).filter(
      (k) => JSON.stringify(PESSIMISTIC_WORLD_PARAMS[k as keyof typeof PESSIMISTIC_WORLD_PARAMS]) !== JSON.stringify(OPTIMISTIC_WORLD_PARAMS[k as keyof typeof OPTIMISTIC_WORLD_PARAMS]),
    );
    expect(differing.sort()).toEqual(
      [
        'alarmEvaluationRangePeriods',
        'eventDeliverySeconds',
        'intakeColdStartMs',
        'intakeRequestLatencyMs',
        'lambdaAsyncInvokeDelayMs',
        'lambdaColdStartMs',
        'lambdaThrottleBackoff',
        'metricVisibilitySeconds',
        'mutatingApiLatencyMs',
        'peerProbeRttMs',
        'routePropagationSeconds',
        'scheduleDelivered',
        'scheduleJitterSeconds',
      ].sort(),
    );
  });

  it('names a profile or says which ones exist', () => {
    expect(profileNamed('optimistic')).toBe('optimistic');
    expect(() => profileNamed('realistic')).toThrow(/use optimistic or pessimistic/);
  });
});
