import { Hash } from '@smithy/hash-node';
import { describe, expect, it } from 'vitest';
import { SignedUrlSender } from '../../agent/intake-client';
import { VirtualClock } from '../../sim/clock';
import { SimSyncFunction } from '../../sim/function-url';
import { INTAKE_URL } from '../../sim/intake';
import { DEFAULT_WORLD_PARAMS, PROFILES } from '../../sim/params';
import { Random } from '../../sim/random';
import { Timeline } from '../../sim/timeline';
import type { WorldContext } from '../../sim/world/context';
import { SimWorld } from '../../sim/world/world';

const T0 = Date.UTC(2025, 0, 1);

function context(): WorldContext {
  const clock = new VirtualClock(T0);
  return { clock, rng: new Random(1), params: { ...DEFAULT_WORLD_PARAMS, lambdaIdleColdSeconds: 60, lambdaWarmStartMs: 10 }, timeline: new Timeline(() => clock.now()), zonesDown: new Set() };
}

describe('Class: SimSyncFunction (a Function URL\'s function)', () => {
  it('pays a cold start for a new environment, not for a warm idle one, again after the idle time; 429 beyond the reserved concurrency', async () => {
    const ctx = context();
    const handler = async () => {
      await ctx.clock.sleep(100);
      return { statusCode: 202, body: '{}' };
    };
    const fn = new SimSyncFunction(ctx, 'intake', handler, 2, 10_000, () => 800);
    const timed = (at: number) => {
      const result: { ms?: number; status?: number; cold?: boolean } = {};
      ctx.clock.at(at, () => {
        const started = ctx.clock.now();
        void fn.invoke({}).then((o) => Object.assign(result, { ms: ctx.clock.now() - started, status: o.statusCode, cold: o.cold }));
      });
      return result;
    };
    const first = timed(T0);
    const second = timed(T0 + 5_000);
    const [third, fourth, fifth] = [timed(T0 + 10_000), timed(T0 + 10_000), timed(T0 + 10_000)];
    const afterIdle = timed(T0 + 100_000);
    await ctx.clock.run(T0 + 200_000);
    expect(first).toEqual({ ms: 900, status: 202, cold: true });
    expect(second).toEqual({ ms: 110, status: 202, cold: false });
    // Three at once with two allowed: one warm, one cold, one throttled.
    expect([third, fourth, fifth].map((r) => r.status).sort()).toEqual([202, 202, 429]);
    expect([third, fourth].map((r) => r.cold)).toEqual([false, true]);
    expect(afterIdle).toMatchObject({ status: 202, cold: true });
    expect(fn.stats).toMatchObject({ invocations: 5, coldStarts: 3, throttled: 1 });
  });
});

describe('The intake behind its simulated Function URL (real handler, real signer)', () => {
  async function setUp() {
    const world = new SimWorld({
      mode: 'natbeat',
      zones: ['us-east-1a', 'us-east-1b'],
      params: PROFILES.pessimistic,
      seed: 3,
      startMs: T0,
      controllerStartsAfterMs: 3_600_000,
      controller: {},
      lifecycleDelivery: { loss: 0, duplicate: 0, reorderSeconds: 0 },
      timeline: true,
    });
    await world.ctx.clock.run(T0 + 1000);
    const [a, b] = [...world.nats.keys()];
    const post = async (signer: string, body: object) => {
      // A stranger signs with keys the account never issued to an instance.
      const sender =
        signer === 'stranger'
          ? new SignedUrlSender(INTAKE_URL, { region: 'us-east-1', credentials: () => Promise.resolve({ accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' }), sha256: Hash.bind(null, 'sha256'), fetch: world.intake!.fetch })
          : world.intake!.senderFor(signer);
      let outcome: unknown;
      void sender.send(body as never, new AbortController().signal).then(() => (outcome = 'accepted'), (error: unknown) => (outcome = error));
      for (let k = 0; k < 200 && outcome === undefined; k++) {
        await new Promise((resolve) => setImmediate(resolve));
        await world.ctx.clock.run(world.ctx.clock.now() + 100);
      }
      return outcome;
    };
    return { world, a: a!, b: b!, post };
  }

  it('takes who reports from the signature: a body naming another instance is about the signer; an unknown signer is refused before the function runs', async () => {
    const { world, a, b, post } = await setUp();
    expect(await post(a, { failedProbes: ['forward-path'], instanceId: b, detail: { instanceId: b } })).toBe('accepted');
    expect(world.reports.map((r) => r.instanceId)).toEqual([a]);
    await expect(post('stranger', { failedProbes: ['forward-path'] })).resolves.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    // The agents' own heartbeats go through the same URL: only signed requests reach the function.
    const signed = world.intake!.requests.filter((r) => r.instanceId !== undefined);
    expect(world.intake!.fn.stats.invocations).toBe(signed.filter((r) => r.statusCode !== 429).length);
    expect(world.intake!.requests.filter((r) => r.instanceId === undefined).map((r) => [r.statusCode, r.cold])).toEqual([[403, false]]);
    expect(world.reports.map((r) => r.instanceId)).toEqual([a]);
  });
});
