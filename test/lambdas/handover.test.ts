import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CreateTagsCommand, EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act } from '../../lambdas/core/act';
import type { AwsClients } from '../../lambdas/core/clients';
import { decide } from '../../lambdas/core/decide';
import type { ActionLog } from '../../lambdas/core/log';
import type { Action, Snapshot } from '../../lambdas/core/types';
import { at, beats, CONFIG, eni, NOW, world, type NatSpec, type TableSpec } from './decide-world';

const ON = { ...CONFIG, handoverDrainSeconds: 300 };
const ADDRESSES: Record<string, string> = { 'i-a': '10.0.1.10', 'i-aa': '10.0.1.11', 'i-b': '10.0.2.10', 'i-c': '10.0.3.10' };
const ipOf = (id: string) => ADDRESSES[id] as string;

/** decide-world's snapshot with every NAT's private address, and optional handover tags. */
function snapshot(nats: NatSpec[], tables: TableSpec[], tags: Record<string, { address: string; until: Date }> = {}): Snapshot {
  const s = world(nats, tables);
  for (const group of s.groups) {
    for (const instance of group.instances) {
      instance.privateIpAddress = ipOf(instance.instanceId);
      if (tags[instance.instanceId]) instance.handoverFrom = tags[instance.instanceId];
    }
  }
  return s;
}

const kinds = (actions: Action[]) => actions.map((a) => `${a.kind} ${a.instanceId}`);
/** Was healthy, recovered: 3 healthy beats in a row after a failure, so failback is due. */
const RECOVERED = [...beats(3, 32, 0), ...beats(3, 2)];

describe('Rule: connection handover on planned moves', () => {
  it('failback: tags the own-AZ NAT with the peer it takes the table from, before the route moves', () => {
    const s = snapshot([{ id: 'i-a', az: 'az-a', samples: RECOVERED }, { id: 'i-b', az: 'az-b' }], [{ id: 'rtb-a', azs: ['az-a'], to: 'i-b' }, { id: 'rtb-b', azs: ['az-b'], to: 'i-b' }]);
    const plan = decide(s, ON, NOW);
    expect(kinds(plan.actions)).toEqual(['TagHandover i-a', 'SetRoute i-a']);
    expect(plan.actions[0]).toMatchObject({ fromInstanceId: 'i-b', fromAddress: ipOf('i-b'), until: at(300) });
    expect(decide(s, CONFIG, NOW).actions.map((a) => a.kind)).toEqual(['SetRoute']); // off: drain 0
  });

  it('planned termination: tags the successor and holds the hook while the leaving NAT drains', () => {
    const nats: NatSpec[] = [
      { id: 'i-a', az: 'az-a', lifecycle: 'Terminating:Wait' },
      { id: 'i-aa', az: 'az-a' },
      { id: 'i-b', az: 'az-b' },
    ];
    const tables: TableSpec[] = [{ id: 'rtb-a', azs: ['az-a'], to: 'i-a' }, { id: 'rtb-b', azs: ['az-b'], to: 'i-b' }];
    const first = decide(snapshot(nats, tables), ON, NOW);
    expect(kinds(first.actions)).toEqual(['TagHandover i-aa', 'SetRoute i-aa']);
    expect(first.actions[0]).toMatchObject({ fromInstanceId: 'i-a', fromAddress: ipOf('i-a') });
    // Without handover the hook completes in the same run.
    expect(kinds(decide(snapshot(nats, tables), CONFIG, NOW).actions)).toEqual(['SetRoute i-aa', 'CompleteLifecycle i-a']);

    // Later runs see the successor's tag: the hook waits until its deadline, then completes.
    const moved: TableSpec[] = [{ id: 'rtb-a', azs: ['az-a'], to: 'i-aa' }, tables[1]!];
    const draining = snapshot(nats, moved, { 'i-aa': { address: ipOf('i-a'), until: at(120) } });
    expect(kinds(decide(draining, ON, NOW).actions)).toEqual([]);
    const drained = snapshot(nats, moved, { 'i-aa': { address: ipOf('i-a'), until: at(-1) } });
    expect(kinds(decide(drained, ON, NOW).actions)).toEqual(['CompleteLifecycle i-a']);
  });

  it('hands nothing to a NAT that failed: its flows cannot go on there', () => {
    const s = snapshot(
      [{ id: 'i-a', az: 'az-a', samples: beats(6, 40) }, { id: 'i-aa', az: 'az-a' }],
      [{ id: 'rtb-a', azs: ['az-a'], to: 'i-a' }],
    );
    const plan = decide(s, ON, NOW);
    expect(plan.actions.map((a) => a.kind)).toContain('SetRoute');
    expect(plan.actions.map((a) => a.kind)).not.toContain('TagHandover');
  });

  it('hands nothing over for a terminating NAT Auto Scaling already counts Unhealthy (replaced after a failure)', () => {
    const s = snapshot(
      [{ id: 'i-a', az: 'az-a', lifecycle: 'Terminating:Wait', health: 'Unhealthy' }, { id: 'i-aa', az: 'az-a' }],
      [{ id: 'rtb-a', azs: ['az-a'], to: 'i-a' }],
    );
    expect(kinds(decide(s, ON, NOW).actions)).toEqual(['SetRoute i-aa', 'CompleteLifecycle i-a']);
  });

  it('tags a NAT taking tables from two leaving NATs once (its agent hands over to one address)', () => {
    const s = snapshot(
      [
        { id: 'i-a', az: 'az-a', lifecycle: 'Terminating:Wait' },
        { id: 'i-c', az: 'az-c', lifecycle: 'Terminating:Wait' },
        { id: 'i-b', az: 'az-b' },
      ],
      [{ id: 'rtb-a', azs: ['az-a'], to: 'i-a' }, { id: 'rtb-c', azs: ['az-c'], to: 'i-c' }],
    );
    const tags = decide(s, ON, NOW).actions.filter((a) => a.kind === 'TagHandover');
    expect(tags).toHaveLength(1);
    expect(tags[0]).toMatchObject({ instanceId: 'i-b', fromInstanceId: 'i-a' });
  });
});

describe('Function: act with a handover tag', () => {
  const ec2 = mockClient(EC2Client);
  const autoScaling = mockClient(AutoScalingClient);
  afterEach(() => {
    ec2.reset();
    autoScaling.reset();
  });
  const log: ActionLog = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const clients = { ec2: new EC2Client({ region: 'us-east-1' }), autoScaling: new AutoScalingClient({ region: 'us-east-1' }) } as unknown as AwsClients;
  const actions: Action[] = [
    { kind: 'SetRoute', routeTableId: 'rtb-a', mode: 'replace', instanceId: 'i-aa', networkInterfaceId: eni('i-aa'), previousInstanceId: 'i-a', reason: 'test' },
    { kind: 'TagHandover', instanceId: 'i-aa', fromInstanceId: 'i-a', fromAddress: '10.0.1.9', until: new Date('2026-06-01T12:05:00Z'), reason: 'test' },
  ];

  it('writes the tag, waits the lead time, then moves the route', async () => {
    const order: string[] = [];
    ec2.on(CreateTagsCommand).callsFake(() => order.push('tag'));
    ec2.on(ReplaceRouteCommand).callsFake(() => order.push('route'));
    const sleep = vi.fn(async (ms: number) => void order.push(`wait ${ms}`));
    const results = await act(clients, actions, { dryRun: false, log, handoverLeadMs: 5000, sleep });
    expect(order).toEqual(['tag', 'wait 5000', 'route']);
    expect(ec2.commandCalls(CreateTagsCommand)[0]?.args[0].input).toEqual({
      Resources: ['i-aa'],
      Tags: [{ Key: 'natbeat:handover-from', Value: '10.0.1.9 until 2026-06-01T12:05:00Z' }],
    });
    expect(results.map((r) => r.status)).toEqual(['done', 'done']);
  });

  it('still moves the route when the tag cannot be written, without waiting (flows reset as without handover)', async () => {
    ec2.on(CreateTagsCommand).rejects(Object.assign(new Error('not allowed'), { name: 'UnauthorizedOperation' }));
    ec2.on(ReplaceRouteCommand).resolves({});
    const sleep = vi.fn(async () => undefined);
    const results = await act(clients, actions, { dryRun: false, log, handoverLeadMs: 5000, sleep });
    expect(sleep).not.toHaveBeenCalled();
    expect(results.map((r) => `${r.action.kind} ${r.status}`)).toEqual(['TagHandover failed', 'SetRoute done']);
  });
});
