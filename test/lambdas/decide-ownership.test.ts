/**
 * natbeat writes only routes that are its own: missing, blackholed, or leading to a NAT of this
 * deployment. And a managed table with no subnet (no AZ) is served without ever paging.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ControllerConfig } from '../../lambdas/core/config';
import { decide } from '../../lambdas/core/decide';
import { reconcile } from '../../lambdas/core/reconcile';
import type { Plan, RouteTarget, Snapshot } from '../../lambdas/core/types';
import { mockFakeAws, plainClients } from '../support/aws-mock';
import type { FakeRoute } from '../support/fake-aws';
import { buildFleet, hexId } from '../support/fleet';
import { testRuntime } from '../support/runtime';
import { CONFIG, NOW, healthyThreeAz, world } from './decide-world';

const setRoutes = (plan: Plan) => plan.actions.filter((a) => a.kind === 'SetRoute');
const routeOf = (plan: Plan, id: string) => plan.routes.find((r) => r.routeTableId === id);

/** Three healthy zones plus rtb-x in us-east-1a whose default route is `target`. */
function withTarget(target: RouteTarget, extra: Partial<Snapshot> = {}): Snapshot {
  const { nats, tables } = healthyThreeAz();
  const snapshot = world(nats, tables, extra);
  snapshot.routeTables.push({ routeTableId: 'rtb-x', vpcId: 'vpc-1', availabilityZones: ['us-east-1a'], defaultRoute: target });
  return snapshot;
}

describe('Function: decide — routes that are not ours', () => {
  it.each<{ kind: string; target: RouteTarget; id: string }>([
    { kind: 'internet-gateway', target: { gatewayId: 'igw-0abc', state: 'active' }, id: 'igw-0abc' },
    { kind: 'nat-gateway', target: { natGatewayId: 'nat-0123', state: 'active' }, id: 'nat-0123' },
    { kind: 'transit-gateway', target: { transitGatewayId: 'tgw-0123', state: 'active' }, id: 'tgw-0123' },
    { kind: 'virtual-private-gateway', target: { gatewayId: 'vgw-0123', state: 'active' }, id: 'vgw-0123' },
    { kind: 'peering-connection', target: { vpcPeeringConnectionId: 'pcx-0123', state: 'active' }, id: 'pcx-0123' },
    { kind: 'instance', target: { instanceId: 'i-0theirs', networkInterfaceId: 'eni-0theirs', state: 'active' }, id: 'i-0theirs' },
    { kind: 'network-interface', target: { networkInterfaceId: 'eni-0firewall', state: 'active' }, id: 'eni-0firewall' },
  ])('leaves a route to a $kind alone and alerts with the table and the target', ({ kind, target, id }) => {
    const plan = decide(withTarget(target), CONFIG, NOW);
    expect(setRoutes(plan)).toEqual([]);
    expect(routeOf(plan, 'rtb-x')).toMatchObject({ serving: 'foreign', desiredInstanceId: undefined });
    const alert = plan.alerts.find((a) => a.kind === 'ForeignRoute');
    expect(alert?.resourceIds).toEqual(['rtb-x', id]);
    expect(alert?.message).toContain(`rtb-x`);
    expect(alert?.message).toContain(`${kind} ${id}`);
  });

  it('still fixes a blackholed route whatever it led to', () => {
    const plan = decide(withTarget({ instanceId: 'i-0theirs', state: 'blackhole' }), CONFIG, NOW);
    expect(setRoutes(plan)).toEqual([expect.objectContaining({ routeTableId: 'rtb-x', mode: 'replace', instanceId: 'i-a1' })]);
    expect(plan.alerts.filter((a) => a.kind === 'ForeignRoute')).toEqual([]);
  });

  it('fixes a route to a NAT of this deployment that has left its group', () => {
    const plan = decide(withTarget({ instanceId: 'i-0old', networkInterfaceId: 'eni-0old', state: 'active' }, { formerNatIds: ['i-0old'] }), CONFIG, NOW);
    expect(setRoutes(plan)).toEqual([expect.objectContaining({ routeTableId: 'rtb-x', instanceId: 'i-a1', previousInstanceId: 'i-0old' })]);
    expect(setRoutes(plan)[0]?.reason).toMatch(/i-0old is no NAT any more/);
  });

  it('leaves a route whose instance could not be looked up, without calling it foreign', () => {
    const plan = decide(withTarget({ instanceId: 'i-0maybe', state: 'active' }, { unresolvedTargetIds: ['i-0maybe'] }), CONFIG, NOW);
    expect(setRoutes(plan)).toEqual([]);
    expect(routeOf(plan, 'rtb-x')?.serving).toBe('unknown');
    expect(plan.alerts.filter((a) => a.kind === 'ForeignRoute')).toEqual([]);
  });
});

describe('Function: decide — a table with no subnet association', () => {
  const zoneless = (to?: string) => {
    const { nats, tables } = healthyThreeAz();
    return world(nats, [...tables, { id: 'rtb-none', azs: [], ...(to ? { to } : {}) }]);
  };

  it('is kept on its healthy NAT, served from any AZ, with no cross-AZ alert', () => {
    const plan = decide(zoneless('i-b1'), CONFIG, NOW);
    expect(plan.actions).toEqual([]);
    expect(routeOf(plan, 'rtb-none')).toMatchObject({ serving: 'any-az', desiredInstanceId: 'i-b1' });
    expect(plan.alerts).toEqual([]);
  });

  it('gets the least-loaded healthy NAT when it has no route', () => {
    const { nats, tables } = healthyThreeAz();
    // i-a1 and i-b1 already carry two tables each; i-c1 one.
    const snapshot = world(nats, [...tables, { id: 'rtb-a2', azs: ['us-east-1a'], to: 'i-a1' }, { id: 'rtb-b2', azs: ['us-east-1b'], to: 'i-b1' }, { id: 'rtb-none', azs: [] }]);
    const plan = decide(snapshot, CONFIG, NOW);
    expect(setRoutes(plan)).toEqual([expect.objectContaining({ routeTableId: 'rtb-none', mode: 'create', instanceId: 'i-c1' })]);
    expect(routeOf(plan, 'rtb-none')?.serving).toBe('any-az');
    expect(plan.alerts.filter((a) => a.kind === 'CrossAzFailover')).toEqual([]);
  });
});

describe('Function: reconcile — ownership and subnet-less tables end to end (observe → decide → act)', () => {
  const restorers: (() => void)[] = [];
  afterEach(() => {
    restorers.splice(0).forEach((restore) => restore());
    vi.restoreAllMocks();
  });

  function run(fleet: ReturnType<typeof buildFleet>) {
    restorers.push(mockFakeAws(fleet.fake).restore);
    const t = testRuntime({ clients: plainClients, now: NOW });
    const config = { ...(t.runtime.config as ControllerConfig), groupNames: fleet.groupNames };
    return reconcile({ clients: plainClients(), config, log: { debug() {}, info() {}, warn() {}, error() {} }, now: () => NOW });
  }

  function addTable(fleet: ReturnType<typeof buildFleet>, id: string, route: FakeRoute | undefined, subnetIds: string[] = [hexId('subnet', 17)]) {
    fleet.fake.tables.set(id, { routeTableId: id, vpcId: hexId('vpc', 1), tags: { network: 'private' }, subnetIds, defaultRoute: route });
  }

  it('with every NAT healthy, a subnet-less table pages nothing and is counted on its own', async () => {
    const fleet = buildFleet({ now: NOW, groups: 1, nats: 3 });
    addTable(fleet, 'rtb-0nosubnet', undefined, []);
    const report = await run(fleet);
    expect(fleet.fake.routeTargetOf('rtb-0nosubnet')).toBeDefined();
    expect(report.counts).toMatchObject({ TablesWithoutSameAzNat: 0, TablesWithoutAnyNat: 0, TablesWithoutSubnet: 1 });
    // A second run keeps it where it is, and still pages nothing.
    const again = await run(fleet);
    expect(again.results).toEqual([]);
    expect(again.counts).toMatchObject({ TablesWithoutSameAzNat: 0, TablesWithoutSubnet: 1 });
  });

  it('reads every kind of target and writes only the routes that are ours', async () => {
    const fleet = buildFleet({ now: NOW, groups: 1, nats: 3 });
    const group = fleet.groupNames[0]!;
    const outsider = (instanceId: string, groupTag: string, ec2State = 'running') =>
      fleet.fake.nats.set(instanceId, {
        ...fleet.fake.nats.get(fleet.natIds[0]!)!,
        instanceId,
        ec2State,
        networkInterfaceId: `eni-${instanceId.slice(2)}`,
        tags: { 'aws:autoscaling:groupName': groupTag },
      });
    outsider('i-0formerofours', group);
    outsider('i-0someoneelses', 'their-proxy-fleet');
    outsider('i-0deadproxy', 'their-proxy-fleet', 'terminated');
    addTable(fleet, 'rtb-0tgw', { TransitGatewayId: 'tgw-0abc', State: 'active' });
    addTable(fleet, 'rtb-0pcx', { VpcPeeringConnectionId: 'pcx-0abc', State: 'active' });
    addTable(fleet, 'rtb-0igw', { GatewayId: 'igw-0abc', State: 'active' });
    addTable(fleet, 'rtb-0former', { InstanceId: 'i-0formerofours', NetworkInterfaceId: 'eni-0formerofours', State: 'active' });
    addTable(fleet, 'rtb-0theirs', { InstanceId: 'i-0someoneelses', NetworkInterfaceId: 'eni-0someoneelses', State: 'active' });
    // Not yet reported as a blackhole, but its instance is terminated: the route leads nowhere.
    addTable(fleet, 'rtb-0dead', { InstanceId: 'i-0deadproxy', NetworkInterfaceId: 'eni-0deadproxy', State: 'active' });

    const report = await run(fleet);
    const written = fleet.fake.mutatingCalls().map((c) => c.input.RouteTableId);
    expect(written.sort()).toEqual(['rtb-0dead', 'rtb-0former']);
    expect(fleet.fake.routeTargetOf('rtb-0former')).toBe(fleet.natIds[0]);
    expect(fleet.fake.tables.get('rtb-0tgw')!.defaultRoute).toEqual({ TransitGatewayId: 'tgw-0abc', State: 'active' });
    const foreign = report.plan.alerts.filter((a) => a.kind === 'ForeignRoute').map((a) => a.resourceIds);
    expect(foreign).toEqual(
      expect.arrayContaining([
        ['rtb-0tgw', 'tgw-0abc'],
        ['rtb-0pcx', 'pcx-0abc'],
        ['rtb-0igw', 'igw-0abc'],
        ['rtb-0theirs', 'i-0someoneelses'],
      ]),
    );
    expect(foreign).toHaveLength(4);
    expect(report.counts).toMatchObject({ ForeignRouteTables: 4, TablesWithoutSameAzNat: 0 });
  });

  it('leaves a route to an unknown instance when its owner cannot be read, and says so', async () => {
    const fleet = buildFleet({ now: NOW, groups: 1, nats: 3 });
    addTable(fleet, 'rtb-0unknown', { InstanceId: 'i-0unknown', State: 'active' });
    fleet.fake.faults.push((call) =>
      call.command === 'DescribeInstancesCommand' && JSON.stringify(call.input).includes('i-0unknown') ? Object.assign(new Error('denied'), { name: 'UnauthorizedOperation' }) : undefined,
    );
    const report = await run(fleet);
    expect(fleet.fake.mutatingCalls()).toEqual([]);
    expect(report.snapshot.failures).toEqual([expect.objectContaining({ scope: 'route-targets' })]);
    expect(report.plan.routes.find((r) => r.routeTableId === 'rtb-0unknown')?.serving).toBe('unknown');
  });
});
