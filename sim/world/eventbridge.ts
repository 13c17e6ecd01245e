/**
 * EventBridge: delivers events to a target after a delivery delay. Alarm state changes are
 * delivered reliably; Auto Scaling lifecycle events are best effort, and a scenario can make
 * them lost, duplicated or reordered. Schedules fire every schedulePeriodSeconds.
 */
import type { Timer } from '../clock';
import { draw } from '../random';
import type { WorldContext } from './context';

export interface DeliveryFaults {
  /** Probability an event is never delivered. */
  loss: number;
  /** Probability an event is delivered twice. */
  duplicate: number;
  /** Extra random delay up to this many seconds, so events overtake each other. */
  reorderSeconds: number;
}

export const RELIABLE: DeliveryFaults = { loss: 0, duplicate: 0, reorderSeconds: 0 };

export class EventBus {
  delivered = 0;
  lost = 0;

  constructor(private readonly ctx: WorldContext) {}

  send(event: unknown, target: (event: unknown) => void, faults: DeliveryFaults = RELIABLE, describe?: string): void {
    const { rng, params, clock, timeline } = this.ctx;
    if (rng.chance(faults.loss)) {
      this.lost++;
      if (describe) timeline.record('lambda', `EventBridge lost: ${describe}`);
      return;
    }
    const copies = rng.chance(faults.duplicate) ? 2 : 1;
    for (let k = 0; k < copies; k++) {
      const delay = draw(rng, params.eventDeliverySeconds) + rng.uniform(0, faults.reorderSeconds) + k * rng.uniform(0, 5);
      clock.after(delay * 1000, () => {
        this.delivered++;
        target(event);
      });
    }
    if (copies > 1 && describe) timeline.record('lambda', `EventBridge will deliver twice: ${describe}`);
  }

  /**
   * An EventBridge rate rule: fires every period from firstAt, each firing up to
   * scheduleJitterSeconds late, and (scheduleDelivered) reaches the target after a delivery delay.
   */
  schedule(firstAt: number, target: (event: unknown) => void): Timer {
    const { params, clock, rng } = this.ctx;
    return clock.every(params.schedulePeriodSeconds * 1000, firstAt, () => {
      const nominal = clock.now();
      const delaySeconds = rng.uniform(0, params.scheduleJitterSeconds) + (params.scheduleDelivered ? draw(rng, params.eventDeliverySeconds) : 0);
      const fire = () =>
        target({
          version: '0',
          id: `sched-${nominal}`,
          'detail-type': 'Scheduled Event',
          source: 'aws.events',
          account: '123456789012',
          time: new Date(nominal).toISOString(),
          region: 'us-east-1',
          resources: ['arn:aws:events:us-east-1:123456789012:rule/natbeat-ReconcileSchedule'],
          detail: {},
        });
      if (delaySeconds > 0) clock.after(delaySeconds * 1000, fire);
      else fire();
    });
  }
}
