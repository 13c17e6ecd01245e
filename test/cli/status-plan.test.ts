import { SetInstanceHealthCommand, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { AssociateAddressCommand, CreateRouteCommand, ModifyInstanceAttributeCommand, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { stripVTControlCharacters } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../cli/run';
import type { FleetView } from '../../cli/fleet-view';
import type { PlanOutput } from '../../cli/commands/plan';
import { beating, captureIo, mockWorld, type MockNat, type MockTable } from './mock-world';

const A: MockNat = { id: 'i-0aaa', az: 'us-east-1a', beatsAgo: beating(3), publicIp: '203.0.113.10' };
const B: MockNat = { id: 'i-0bbb', az: 'us-east-1b', beatsAgo: beating(5), publicIp: '203.0.113.11' };
const HEALTHY_TABLES: MockTable[] = [
  { id: 'rtb-0a', az: 'us-east-1a', to: A.id },
  { id: 'rtb-0b', az: 'us-east-1b', to: B.id },
];

let world: ReturnType<typeof mockWorld> | undefined;
afterEach(() => world?.restore());

/** Asserts that no call that changes AWS reached any client. */
function expectNothingChanged(w: ReturnType<typeof mockWorld>) {
  expect(w.ec2).not.toHaveReceivedCommand(CreateRouteCommand);
  expect(w.ec2).not.toHaveReceivedCommand(ReplaceRouteCommand);
  expect(w.ec2).not.toHaveReceivedCommand(ModifyInstanceAttributeCommand);
  expect(w.ec2).not.toHaveReceivedCommand(AssociateAddressCommand);
  expect(w.autoScaling).not.toHaveReceivedCommand(SetInstanceHealthCommand);
  expect(w.autoScaling).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  // Every call sent was a read.
  for (const mock of [w.ec2, w.autoScaling, w.dynamoDb]) {
    for (const call of mock.calls()) {
      expect((call.args[0] as { schema: unknown[] }).schema[2]).toMatch(/^(Describe|Get|List|Query$)/);
    }
  }
}

async function statusJson(argv: string[] = []) {
  const io = captureIo();
  const code = await run(['status', '--json', ...argv], io);
  return { code, view: JSON.parse(io.out()) as FleetView, io };
}

describe('Command: natbeat status', () => {
  it('shows a healthy fleet: each table on its own AZ NAT, no alerts, exit 0', async () => {
    world = mockWorld([A, B], HEALTHY_TABLES);
    const io = captureIo();
    const code = await run(['status'], io);
    const out = io.out();
    expect(code).toBe(0);
    expect(out).toContain('Group nat-asg · vpc-0cafe');
    expect(out).toMatch(/us-east-1a\s+i-0aaa\s+InService\/Healthy\s+healthy\s+3 s ago\s+off\s+203\.0\.113\.10\s+1\s+healthy heartbeat/);
    expect(out).toMatch(/us-east-1a\s+rtb-0a\s+i-0aaa\s+same-az\s+keep/);
    expect(out).toMatch(/us-east-1b\s+rtb-0b\s+i-0bbb\s+same-az\s+keep/);
    expect(out).toContain('No alerts: the controller would not page.');
    expect(out).not.toContain('\u001b['); // not a TTY: no colour
    expectNothingChanged(world);
  });

  it('shows a NAT a healthy peer cannot reach and whose beat is overdue as unreachable, its table moving, exit 1', async () => {
    const overdueA = { ...A, beatsAgo: [65, 55, 45, 35, 25, 15], namedBy: [{ by: B.id, ago: 5 }] };
    world = mockWorld([overdueA, B], HEALTHY_TABLES);
    const io = captureIo();
    expect(await run(['status'], io)).toBe(1);
    expect(io.out()).toMatch(/us-east-1a\s+i-0aaa\s+InService\/Healthy\s+unreachable\s+15 s ago\s.*i-0bbb cannot reach it/);
    expect(io.out()).toMatch(/NatUnreachable\s+i-0aaa \(us-east-1a\) is unreachable/);
    expect(io.out()).toMatch(/rtb-0a\s+i-0aaa\s+same-az \(NAT unreachable\)\s+→ i-0bbb/);
    const plan = captureIo();
    await run(['plan', '--json'], plan);
    const output = JSON.parse(plan.out()) as { actions: { kind: string; instanceId?: string }[]; nats: { instanceId: string; verdict: string }[] };
    expect(output.nats.find((n) => n.instanceId === 'i-0aaa')?.verdict).toBe('unreachable');
    // Tables move; a peer's word never marks.
    expect(output.actions.map((a) => a.kind)).toEqual(['SetRoute']);
    expectNothingChanged(world);
  });

  it('shows a failed-over zone: the table served cross-AZ, the silent NAT, exit 1', async () => {
    // Inside the lookback the controller reads (silence 25 s + 4 periods of 5 s), older than the silence window.
    const silentA = { ...A, beatsAgo: [42, 38, 34, 30] };
    world = mockWorld([silentA, B], [{ id: 'rtb-0a', az: 'us-east-1a', to: B.id }, HEALTHY_TABLES[1]!]);
    const { code, view } = await statusJson();
    expect(code).toBe(1);
    const zoneA = view.groups[0]!.zones.find((z) => z.availabilityZone === 'us-east-1a')!;
    expect(zoneA.nats[0]).toMatchObject({ instanceId: 'i-0aaa', verdict: 'silent', lastBeat: { ageSeconds: 30, value: 1 }, routeTableIds: [] });
    expect(zoneA.routeTables[0]).toMatchObject({ routeTableId: 'rtb-0a', target: 'i-0bbb', via: 'cross-az', natInstanceId: 'i-0bbb' });
    expect(view.alerts.map((a) => a.kind).sort()).toEqual(['NatSilent', 'TableWithoutSameAzNat']);
    expect(view.alerts.find((a) => a.kind === 'NatSilent')!.message).toContain('no heartbeat for 30 s');
    // The controller would mark the silent NAT: one pending change.
    expect(view.pendingActions).toBe(1);
    expectNothingChanged(world);
  });

  it('shows a blackholed route and the NAT the controller would move it to', async () => {
    world = mockWorld([A, B], [HEALTHY_TABLES[0]!, { id: 'rtb-0b', az: 'us-east-1b', to: 'i-0dead', blackhole: true }]);
    const io = captureIo();
    const code = await run(['status'], io);
    expect(io.out()).toMatch(/us-east-1b\s+rtb-0b\s+i-0dead\s+blackhole\s+→ i-0bbb: 0\.0\.0\.0\/0 route is a blackhole: → i-0bbb \(same AZ\)/);
    expect(io.out()).toContain('1 change(s) pending');
    // After the controller's next run the table is served from its own AZ again: nothing to page.
    expect(code).toBe(0);
    expectNothingChanged(world);
  });

  it('pages when no NAT is left: blackholed table and no healthy NAT anywhere', async () => {
    world = mockWorld([{ ...A, beatsAgo: [] , failingAgo: [2] }], [{ id: 'rtb-0a', az: 'us-east-1a', to: 'i-0dead', blackhole: true }]);
    const { code, view } = await statusJson();
    expect(code).toBe(1);
    expect(view.alerts.map((a) => a.kind)).toEqual(expect.arrayContaining(['NoHealthyNat', 'NatFailing']));
    expect(view.groups[0]!.zones[0]!.routeTables[0]).toMatchObject({ via: 'blackhole', outcome: { serving: 'none' } });
  });

  it('reports a table with no subnet as served from any AZ, in a note, without an alert (exit 0)', async () => {
    world = mockWorld([A, B], [...HEALTHY_TABLES, { id: 'rtb-0none', az: '', to: B.id }]);
    const { code, view } = await statusJson();
    expect(view.alerts).toEqual([]);
    expect(code).toBe(0);
    expect(view.notes).toEqual([expect.stringMatching(/rtb-0none has no subnet association: .*least-loaded healthy NAT of any AZ/)]);
  });

  it('alerts on a tagged table whose default route is someone else’s, naming the table and the target', async () => {
    world = mockWorld([A, B], [...HEALTHY_TABLES, { id: 'rtb-0tgw', az: 'us-east-1a', to: 'nat-0theirs' }]);
    const { code, view } = await statusJson();
    expect(code).toBe(1);
    expect(view.alerts).toEqual([expect.objectContaining({ kind: 'ForeignRoute', resourceIds: ['rtb-0tgw', 'nat-0theirs'] })]);
    expectNothingChanged(world);
  });

  it('flags a source/destination check that is still on', async () => {
    world = mockWorld([{ ...A, sourceDestCheck: true }, B], HEALTHY_TABLES);
    const io = captureIo();
    await run(['status'], io);
    expect(io.out()).toMatch(/i-0aaa\s+.*ON \(must be off\)/);
  });

  it('narrows the view with --group and rejects a group that is not managed', async () => {
    world = mockWorld([A, B], HEALTHY_TABLES);
    const ok = await statusJson(['--group', 'nat-asg']);
    expect(ok.view.groups.map((g) => g.name)).toEqual(['nat-asg']);
    const io = captureIo();
    const code = await run(['status', '--group', 'other-asg'], io);
    expect(code).toBe(1);
    expect(io.err()).toContain('--group other-asg: not a managed NAT group here; managed groups: nat-asg');
  });

  it('colours only for a terminal and honours NO_COLOR', async () => {
    world = mockWorld([A, B], HEALTHY_TABLES);
    const tty = captureIo({ isTTY: true });
    await run(['status'], tty);
    expect(tty.out()).toContain('\u001b[');
    expect(stripVTControlCharacters(tty.out())).toContain('same-az');

    const noColor = captureIo({ isTTY: true, env: { NO_COLOR: '1' } });
    await run(['status'], noColor);
    expect(noColor.out()).not.toContain('\u001b[');

    const flag = captureIo({ isTTY: true });
    await run(['status', '--no-color'], flag);
    expect(flag.out()).not.toContain('\u001b[');
  });
});

describe('Command: natbeat plan', () => {
  it('lists nothing to do for a healthy fleet', async () => {
    world = mockWorld([A, B], HEALTHY_TABLES);
    const io = captureIo();
    expect(await run(['plan'], io)).toBe(0);
    expect(io.out()).toContain('No actions: the controller would change nothing now.');
    expectNothingChanged(world);
  });

  it('plans a cross-AZ failover and the replacement of a failing NAT, and sends no mutating call', async () => {
    const failingA = { ...A, beatsAgo: [65, 55, 45, 35], failingAgo: [25, 15, 5] };
    world = mockWorld([failingA, B], HEALTHY_TABLES);
    const io = captureIo();
    expect(await run(['plan', '--json'], io)).toBe(0);
    const plan = JSON.parse(io.out()) as PlanOutput;
    expect(plan.dryRun).toBe(true);
    expect(plan.actions).toEqual([
      expect.objectContaining({ kind: 'SetRoute', routeTableId: 'rtb-0a', mode: 'replace', instanceId: 'i-0bbb', networkInterfaceId: 'eni-0bbb' }),
      expect.objectContaining({ kind: 'SetUnhealthy', groupName: 'nat-asg', instanceId: 'i-0aaa' }),
    ]);
    expect(plan.actions[0]!.reason).toContain('current NAT i-0aaa is failing');
    expect(plan.alerts.map((a) => a.kind)).toEqual(expect.arrayContaining(['CrossAzFailover', 'NatFailing']));
    expectNothingChanged(world);
  });

  it('renders the plan as a numbered table with reasons', async () => {
    world = mockWorld([A, B], [HEALTHY_TABLES[0]!, { id: 'rtb-0b', az: 'us-east-1b', to: 'i-0dead', blackhole: true }]);
    const io = captureIo();
    await run(['plan'], io);
    expect(io.out()).toContain('nothing was changed');
    expect(io.out()).toMatch(/1\s+SetRoute\s+rtb-0b\s+replace 0\.0\.0\.0\/0 → i-0bbb \(eni-0bbb\), was i-0dead \(blackhole\)\s+0\.0\.0\.0\/0 route is a blackhole/);
    expectNothingChanged(world);
  });

  it('filters actions with --group', async () => {
    world = mockWorld([A, B], [HEALTHY_TABLES[0]!, { id: 'rtb-0b', az: 'us-east-1b', to: 'i-0dead', blackhole: true }]);
    const io = captureIo();
    await run(['plan', '--json', '--group', 'nat-asg'], io);
    expect((JSON.parse(io.out()) as PlanOutput).actions).toHaveLength(1);
  });
});
