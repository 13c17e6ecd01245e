/**
 * Pinned Elastic IPs never ping-pong and never go to a NAT that the same plan lets go.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, ENV } from '../../lambdas/core/config';
import { decide } from '../../lambdas/core/decide';
import type { Action, Plan, Snapshot } from '../../lambdas/core/types';
import { CONFIG, NOW, beats, healthyThreeAz, world, type NatSpec } from './decide-world';

type Associate = Extract<Action, { kind: 'AssociateElasticIp' }>;
const associations = (plan: Plan) => plan.actions.filter((a): a is Associate => a.kind === 'AssociateElasticIp');

/** Runs decide `runs` times, applying each association as AWS would, and returns every association made. */
function converge(snapshot: Snapshot, runs = 6): Associate[] {
  const made: Associate[] = [];
  for (let run = 0; run < runs; run++) {
    const plan = decide(snapshot, CONFIG, NOW);
    for (const a of associations(plan)) {
      made.push(a);
      snapshot.elasticIps = [...snapshot.elasticIps.filter((e) => e.allocationId !== a.allocationId), { allocationId: a.allocationId, instanceId: a.instanceId, networkInterfaceId: a.networkInterfaceId }];
    }
  }
  return made;
}

describe('Function: decide — pinned Elastic IPs', () => {
  it('does not move one address between two groups that both have a NAT in its zone (was: i-a2, i-a1, i-a2, …)', () => {
    const nats: NatSpec[] = [
      { id: 'i-a1', az: 'us-east-1a', group: 'nat-one' },
      { id: 'i-a2', az: 'us-east-1a', group: 'nat-two' },
    ];
    const snapshot = world(nats, [{ id: 'rtb-a', azs: ['us-east-1a'], to: 'i-a1' }], { elasticIps: [{ allocationId: 'eipalloc-a', instanceId: 'i-a2' }] });
    for (const group of snapshot.groups) group.elasticIps = { 'us-east-1a': 'eipalloc-a' };
    expect(converge(snapshot)).toEqual([]);
    const plan = decide(snapshot, CONFIG, NOW);
    expect(plan.alerts).toEqual([expect.objectContaining({ kind: 'ElasticIpConflict', resourceIds: ['eipalloc-a'] })]);
    expect(plan.alerts[0]!.message).toContain('nat-one/us-east-1a, nat-two/us-east-1a');
  });

  it('associates a conflicting unassociated address once, with the first group by name, and then keeps it', () => {
    const nats: NatSpec[] = [
      { id: 'i-b9', az: 'us-east-1a', group: 'nat-two' },
      { id: 'i-a1', az: 'us-east-1a', group: 'nat-one' },
    ];
    const snapshot = world(nats, [{ id: 'rtb-a', azs: ['us-east-1a'], to: 'i-a1' }]);
    for (const group of snapshot.groups) group.elasticIps = { 'us-east-1a': 'eipalloc-a' };
    expect(converge(snapshot).map((a) => a.instanceId)).toEqual(['i-a1']);
  });

  it('does not move one address between two zones it is pinned to', () => {
    const { nats, tables } = healthyThreeAz();
    const snapshot = world(nats, tables);
    snapshot.groups[0]!.elasticIps = { 'us-east-1a': 'eipalloc-x', 'us-east-1b': 'eipalloc-x' };
    expect(converge(snapshot).map((a) => a.instanceId)).toEqual(['i-a1']);
  });

  it('does not associate an address with a NAT the same plan marks Unhealthy', () => {
    const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) } });
    const snapshot = world(nats, tables);
    snapshot.groups[0]!.elasticIps = { 'us-east-1a': 'eipalloc-a' };
    const plan = decide(snapshot, CONFIG, NOW);
    expect(plan.actions.map((a) => a.kind)).toContain('SetUnhealthy');
    expect(associations(plan)).toEqual([]);
  });

  it('moves an address off a NAT the plan marks Unhealthy to a healthy NAT of the same zone', () => {
    const { nats, tables } = healthyThreeAz({ a: { samples: beats(6, 90) } });
    nats.push({ id: 'i-a2', az: 'us-east-1a' });
    const snapshot = world(nats, tables, { elasticIps: [{ allocationId: 'eipalloc-a', instanceId: 'i-a1' }] });
    snapshot.groups[0]!.elasticIps = { 'us-east-1a': 'eipalloc-a' };
    expect(associations(decide(snapshot, CONFIG, NOW))).toEqual([expect.objectContaining({ allocationId: 'eipalloc-a', instanceId: 'i-a2' })]);
  });

  it('does not associate an address with a launching NAT the plan abandons', () => {
    const { nats, tables } = healthyThreeAz();
    const snapshot = world(
      [...nats.filter((n) => n.id !== 'i-a1'), { id: 'i-a9', az: 'us-east-1a', lifecycle: 'Pending:Wait', launchedAgo: CONFIG.launchProofTimeoutSeconds + 5, samples: [] }],
      tables,
    );
    snapshot.groups[0]!.elasticIps = { 'us-east-1a': 'eipalloc-a' };
    const plan = decide(snapshot, CONFIG, NOW);
    expect(plan.actions).toContainEqual(expect.objectContaining({ kind: 'CompleteLifecycle', instanceId: 'i-a9', result: 'ABANDON' }));
    expect(associations(plan)).toEqual([]);
  });
});

describe('Function: loadConfig — pinned Elastic IPs', () => {
  it('rejects one allocation pinned to two zones', () => {
    expect(() => loadConfig({ [ENV.elasticIps]: 'nat/us-east-1a=eipalloc-0a1b,nat/us-east-1b=eipalloc-0a1b' })).toThrow(
      /NATBEAT_ELASTIC_IPS=.*eipalloc-0a1b is pinned to both nat\/us-east-1a and nat\/us-east-1b/,
    );
  });

  it('rejects one allocation pinned to the same zone of two groups', () => {
    expect(() => loadConfig({ [ENV.elasticIps]: 'one/us-east-1a=eipalloc-0a1b,two/us-east-1a=eipalloc-0a1b' })).toThrow(/pin each address to one zone of one group/);
  });

  it('rejects a pin without a group when several groups are managed', () => {
    expect(() => loadConfig({ [ENV.groupNames]: 'one,two', [ENV.elasticIps]: 'us-east-1a=eipalloc-0a1b' })).toThrow(
      /NATBEAT_ELASTIC_IPS=.*us-east-1a pinned without a group .* each of the 2 groups/,
    );
  });

  it('accepts a pin without a group for one managed group, and distinct addresses per group and zone', () => {
    expect(loadConfig({ [ENV.reportTable]: 'natbeat-reports', [ENV.groupNames]: 'one', [ENV.elasticIps]: 'us-east-1a=eipalloc-0a1b' }).elasticIps).toEqual({ '*/us-east-1a': 'eipalloc-0a1b' });
    expect(loadConfig({ [ENV.reportTable]: 'natbeat-reports', [ENV.groupNames]: 'one,two', [ENV.elasticIps]: 'one/us-east-1a=eipalloc-01,two/us-east-1a=eipalloc-02' }).elasticIps).toEqual({
      'one/us-east-1a': 'eipalloc-01',
      'two/us-east-1a': 'eipalloc-02',
    });
  });
});
