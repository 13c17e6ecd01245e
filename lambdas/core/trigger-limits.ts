/**
 * How often each kind of trigger may start a reconcile run. Every kind is bounded twice:
 *   1. by who can send it: the reconcile function may be invoked only by this deployment's
 *      EventBridge rules (schedule, its own alarms, its own group's lifecycle actions) and by the
 *      intake (verified self-reports); a NAT cannot invoke it at all;
 *   2. here, per execution environment (reserved concurrency 1 makes that one at a time): no kind
 *      starts runs more often than its minimum interval (a trigger inside it is skipped; the next
 *      trigger or the minute schedule does what it would have done), and a schedule or lifecycle
 *      event that a run already covers (one that looked at AWS after the event was sent) is skipped.
 * Skipping a covered event loses nothing: those events only say "look now", and the covering run
 * looked. Alarms and self-reports are never skipped as covered: their runs look again until what
 * they announce is visible. The intervals are short where a skipped trigger would cost failover time.
 */
import type { ReconcileTrigger } from './events';

export type TriggerKind = 'schedule' | 'alarm' | 'lifecycle' | 'self-report' | 'witness' | 'manual';

export const MIN_RUN_INTERVAL_MS: Readonly<Record<TriggerKind, number>> = {
  // EventBridge sends one a minute; more would only be a replay.
  schedule: 20_000,
  // One trigger alarm per zone, each changing state at most once per 10 s evaluation.
  alarm: 1_000,
  // One launch and one terminate action per instance.
  lifecycle: 1_000,
  // The only kind a NAT can cause (through the intake, itself limited per instance); one run
  // covers the whole fleet and follows the report up for 20 s.
  'self-report': 10_000,
  // A peer's hint that a NAT stopped answering (through the intake, limited per witness): it
  // only asks for a look, which believes it only with that NAT's own heartbeat overdue.
  witness: 2_000,
  // An operator's `aws lambda invoke`.
  manual: 5_000,
};

/** Kinds that only ask for a look: any run that looked after they were sent has done their work. */
const COALESCED = new Set<TriggerKind>(['schedule', 'lifecycle']);

/** EventBridge's `time` has whole seconds: an event may have been sent up to 1 s after it. */
const EVENT_TIME_RESOLUTION_MS = 1_000;

export function triggerKind(trigger: ReconcileTrigger): TriggerKind {
  switch (trigger.source) {
    case 'aws.events':
      return 'schedule';
    case 'aws.cloudwatch':
      return 'alarm';
    case 'aws.autoscaling':
      return 'lifecycle';
    case 'natbeat.intake':
      return trigger['detail-type'] === 'Verified Witness Report' ? 'witness' : 'self-report';
    case 'natbeat':
      return 'manual';
  }
}

/** When the event was sent (its `time`), if it says. */
export function sentAt(trigger: ReconcileTrigger): number | undefined {
  const time = 'time' in trigger ? trigger.time : undefined;
  const ms = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isFinite(ms) ? ms : undefined;
}

export class TriggerLimiter {
  private readonly lastStartOf = new Map<TriggerKind, number>();
  private lastObservedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervals: Readonly<Record<TriggerKind, number>> = MIN_RUN_INTERVAL_MS) {}

  /** undefined: run now (and it is counted); otherwise why this trigger is skipped. */
  admit(trigger: ReconcileTrigger, nowMs: number): string | undefined {
    const kind = triggerKind(trigger);
    const sent = sentAt(trigger);
    if (COALESCED.has(kind) && sent !== undefined && this.lastObservedAt >= sent + EVENT_TIME_RESOLUTION_MS) {
      return `covered by a run that looked at AWS ${Math.round((nowMs - this.lastObservedAt) / 1000)} s ago, after this ${kind} event was sent`;
    }
    const sinceMs = nowMs - (this.lastStartOf.get(kind) ?? Number.NEGATIVE_INFINITY);
    if (sinceMs < this.intervals[kind]) {
      return `a ${kind} run started ${Math.round(sinceMs / 1000)} s ago (at most one per ${this.intervals[kind] / 1000} s); this one adds nothing`;
    }
    this.lastStartOf.set(kind, nowMs);
    return undefined;
  }

  /** Called as each observe starts (the first look and every follow-up). */
  observed(nowMs: number): void {
    this.lastObservedAt = Math.max(this.lastObservedAt, nowMs);
  }
}
