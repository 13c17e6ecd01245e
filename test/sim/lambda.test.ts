import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../sim/clock';
import { SimLambda } from '../../sim/lambda';
import { DEFAULT_WORLD_PARAMS, type WorldParams } from '../../sim/params';
import { Random } from '../../sim/random';
import { Timeline } from '../../sim/timeline';
import type { WorldContext } from '../../sim/world/context';

const T0 = Date.UTC(2025, 0, 1);

function world(params: Partial<WorldParams>) {
  const clock = new VirtualClock(T0);
  const ctx: WorldContext = { clock, rng: new Random(1), params: { ...DEFAULT_WORLD_PARAMS, lambdaColdStartMs: 0, lambdaWarmStartMs: 0, ...params }, timeline: new Timeline(() => clock.now()), zonesDown: new Set() };
  const started: number[] = [];
  const handler = async () => {
    started.push(clock.now() - T0);
    await clock.sleep(5000);
    return { status: 'reconciled', actions: [] };
  };
  return { ctx, clock, started, make: (maxEventAgeSeconds: number) => new SimLambda(ctx, 'f', handler, 1, 60_000, maxEventAgeSeconds) };
}

describe('Class: SimLambda (async invocations at reserved concurrency 1)', () => {
  it('throttled events are retried after 1 s, 2 s, 4 s … [AWS], not handed the slot when it frees', async () => {
    const { clock, started, make } = world({ lambdaThrottleBackoff: true });
    const f = make(120);
    f.invoke({}, 'first');
    f.invoke({}, 'second'); // throttled: retried at +1 s, +3 s (busy until +5 s), +7 s
    await clock.run(T0 + 20_000);
    expect(started).toEqual([0, 7000]);
    expect(f.throttledRetries).toBe(3);
  });

  it('drops a throttled event once it is older than the function’s maximum event age', async () => {
    const { clock, started, make } = world({ lambdaThrottleBackoff: true });
    const f = make(2);
    f.invoke({}, 'first');
    f.invoke({}, 'second');
    await clock.run(T0 + 20_000);
    expect(started).toEqual([0]);
  });

  it('optimistic: a queued event runs as soon as the slot frees (FIFO)', async () => {
    const { clock, started, make } = world({ lambdaThrottleBackoff: false });
    const f = make(120);
    f.invoke({}, 'first');
    f.invoke({}, 'second');
    await clock.run(T0 + 20_000);
    expect(started).toEqual([0, 5000]);
  });
});
