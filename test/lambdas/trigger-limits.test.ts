import { describe, expect, it } from 'vitest';
import { reconcileTrigger, type ReconcileTrigger } from '../../lambdas/core/events';
import { MIN_RUN_INTERVAL_MS, TriggerLimiter, triggerKind, type TriggerKind } from '../../lambdas/core/trigger-limits';
import alarm from '../fixtures/events/alarm-state-change.json';
import launch from '../fixtures/events/launch.json';
import scheduled from '../fixtures/events/scheduled.json';

const T0 = Date.parse('2026-06-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const SAMPLES: Record<TriggerKind, ReconcileTrigger> = {
  schedule: reconcileTrigger.parse(scheduled),
  alarm: reconcileTrigger.parse(alarm),
  lifecycle: reconcileTrigger.parse(launch),
  'self-report': reconcileTrigger.parse({
    source: 'natbeat.intake',
    'detail-type': 'Verified NAT Self-Report',
    time: at(0),
    detail: { instanceId: 'i-0abc', groupName: 'nat', availabilityZone: 'us-east-1a', callerArn: 'arn:aws:sts::123456789012:assumed-role/nat/i-0abc' },
  }),
  witness: reconcileTrigger.parse({
    source: 'natbeat.intake',
    'detail-type': 'Verified Witness Report',
    time: at(0),
    detail: { witnessId: 'i-0abc', groupName: 'nat', availabilityZone: 'us-east-1a', unreachablePeers: ['i-0def'], callerArn: 'arn:aws:sts::123456789012:assumed-role/nat/i-0abc' },
  }),
  manual: reconcileTrigger.parse({ source: 'natbeat', 'detail-type': 'Reconcile Request' }),
};

describe('Class: TriggerLimiter', () => {
  it.each(Object.keys(SAMPLES) as TriggerKind[])('bounds %s runs: at most one per its interval, however many arrive', (kind) => {
    const limiter = new TriggerLimiter();
    const trigger = SAMPLES[kind];
    expect(triggerKind(trigger)).toBe(kind);
    // A flood: one event every 100 ms for a minute (the sender never waits).
    let runs = 0;
    for (let ms = 0; ms < 60_000; ms += 100) if (limiter.admit(trigger, T0 + ms) === undefined) runs++;
    expect(MIN_RUN_INTERVAL_MS[kind]).toBeGreaterThan(0);
    expect(runs).toBe(Math.ceil(60_000 / MIN_RUN_INTERVAL_MS[kind]));
  });

  it('skips a schedule or lifecycle event that a later look already covered, and says so', () => {
    const limiter = new TriggerLimiter();
    limiter.observed(T0 + 5_000);
    for (const kind of ['schedule', 'lifecycle'] as const) {
      expect(limiter.admit({ ...SAMPLES[kind], time: at(0) } as ReconcileTrigger, T0 + 6_000)).toMatch(/covered by a run that looked at AWS 1 s ago/);
      // Sent after that look (EventBridge's time has whole seconds): not covered.
      expect(limiter.admit({ ...SAMPLES[kind], time: at(5_000) } as ReconcileTrigger, T0 + 6_000)).toBeUndefined();
    }
  });

  it('never skips an alarm or a self-report as covered: their runs look again until the news is visible', () => {
    const limiter = new TriggerLimiter();
    limiter.observed(T0 + 30_000);
    expect(limiter.admit({ ...SAMPLES.alarm, time: at(0) } as ReconcileTrigger, T0 + 31_000)).toBeUndefined();
    expect(limiter.admit(SAMPLES['self-report'], T0 + 31_000)).toBeUndefined();
  });

  it('keeps the kinds apart: a flood of one kind does not hold back another', () => {
    const limiter = new TriggerLimiter();
    expect(limiter.admit(SAMPLES['self-report'], T0)).toBeUndefined();
    expect(limiter.admit(SAMPLES['self-report'], T0 + 1_000)).toMatch(/self-report run started 1 s ago/);
    expect(limiter.admit(SAMPLES.alarm, T0 + 1_000)).toBeUndefined();
    expect(limiter.admit(SAMPLES.lifecycle, T0 + 1_000)).toBeUndefined();
  });
});
