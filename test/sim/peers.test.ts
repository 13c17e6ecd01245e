import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../sim/params';
import { SimWorld } from '../../sim/world/world';

const T0 = Date.UTC(2025, 0, 1);

function fleet() {
  const world = new SimWorld({
    mode: 'natbeat',
    zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    params: PROFILES.pessimistic,
    seed: 4,
    startMs: T0,
    controllerStartsAfterMs: 3_600_000,
    controller: {},
    lifecycleDelivery: { loss: 0, duplicate: 0, reorderSeconds: 0 },
    timeline: false,
  });
  const [a, b, c] = [...world.nats.values()];
  return { world, a: a!, b: b!, c: c! };
}

describe('Peer witnesses on the virtual clock', () => {
  it('every NAT names a hung peer unreachable 3–5 s after it hangs (3 missed 1 s probes), and no one before', async () => {
    const { world, a, b, c } = fleet();
    await world.ctx.clock.run(T0 + 10_000);
    expect([a, b, c].map((h) => h.witness!.unreachable())).toEqual([[], [], []]);
    a.instance.hung = true;
    await world.ctx.clock.run(T0 + 12_500);
    expect(b.witness!.unreachable()).toEqual([]);
    await world.ctx.clock.run(T0 + 15_000);
    expect(b.witness!.unreachable()).toEqual([a.instance.instanceId]);
    expect(c.witness!.unreachable()).toEqual([a.instance.instanceId]);
    a.instance.hung = false;
  });

  it('a partition makes the cut-off NAT and its peers name each other, and heals', async () => {
    const { world, a, b, c } = fleet();
    world.peerNetwork.cuts.push({ zone: a.instance.availabilityZone, from: T0 + 10_000, until: T0 + 30_000 });
    await world.ctx.clock.run(T0 + 20_000);
    expect(a.witness!.unreachable()).toEqual([b.instance.instanceId, c.instance.instanceId].sort());
    expect(b.witness!.unreachable()).toEqual([a.instance.instanceId]);
    expect(c.witness!.unreachable()).toEqual([a.instance.instanceId]);
    await world.ctx.clock.run(T0 + 33_000);
    expect([a, b, c].map((h) => h.witness!.unreachable())).toEqual([[], [], []]);
  });

  it('a lying witness names every peer, a withholding one none, whatever the network says', async () => {
    const { world, a, b, c } = fleet();
    await world.ctx.clock.run(T0 + 5_000);
    a.witness!.behaviour = 'lie';
    b.witness!.behaviour = 'withhold';
    c.instance.hung = true;
    await world.ctx.clock.run(T0 + 15_000);
    expect(a.witness!.unreachable()).toEqual([b.instance.instanceId, c.instance.instanceId].sort());
    expect(b.witness!.unreachable()).toEqual([]);
  });
});
