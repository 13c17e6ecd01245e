/**
 * The CLI against moto (a real AWS API emulator): the same observe and decide calls the controller
 * makes, over HTTP. moto never reports a route as blackhole (a route to a terminated instance's
 * interface stays "active"), so the blackhole state itself is covered by the mock tests.
 */
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PlanOutput } from '../../cli/commands/plan';
import type { FleetView } from '../../cli/fleet-view';
import type { CliIo } from '../../cli/io';
import { run } from '../../cli/run';
import type { AwsClients } from '../../lambdas/core/clients';
import { motoClients, motoSkipReason, startMoto, type MotoServer } from '../support/moto';
import { MOTO_REPORT_TABLE } from '../support/moto-network';
import { blackhole, createFleet, MOTO_GROUP, publishHeartbeats, routeTo, type MotoFleet } from './moto-world';

const skip = motoSkipReason();

function motoIo(endpoint: string): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s) },
    // moto stamps instances with the launch time "now": no grace period, or every NAT is booting.
    env: { NATBEAT_GRACE_SECONDS: '0', NATBEAT_REPORT_TABLE: MOTO_REPORT_TABLE },
    now: () => new Date(),
    clients: () => motoClients(endpoint),
    out: () => out,
    err: () => err,
  };
}

async function defaultRoutes(clients: AwsClients, fleet: MotoFleet) {
  const out = await clients.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: fleet.routeTables.map((t) => t.routeTableId) }));
  return Object.fromEntries(
    (out.RouteTables ?? []).map((t) => [t.RouteTableId, t.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.NetworkInterfaceId]),
  );
}

describe.skipIf(skip !== undefined)('natbeat status and plan against moto', () => {
  let moto: MotoServer;
  let clients: AwsClients;
  let fleet: MotoFleet;

  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(() => moto?.stop());
  beforeEach(async () => {
    await moto.reset();
    clients = motoClients(moto.endpoint);
    fleet = await createFleet(clients);
  });

  it('shows a healthy fleet and exits 0', async () => {
    const now = new Date();
    for (const nat of fleet.nats) await publishHeartbeats(clients, nat, now, 2);
    const io = motoIo(moto.endpoint);
    expect(await run(['status', '--json'], io)).toBe(0);
    const view = JSON.parse(io.out()) as FleetView;
    expect(view.alerts).toEqual([]);
    expect(view.groups.map((g) => g.name)).toEqual([MOTO_GROUP]);
    const zones = view.groups[0]!.zones;
    expect(zones.map((z) => z.availabilityZone)).toEqual(['us-east-1a', 'us-east-1b']);
    for (const [i, zone] of zones.entries()) {
      expect(zone.nats).toEqual([
        expect.objectContaining({ instanceId: fleet.nats[i]!.instanceId, verdict: 'healthy', sourceDestCheck: false, elasticIp: null }),
      ]);
      expect(zone.routeTables).toEqual([
        expect.objectContaining({ routeTableId: fleet.routeTables[i]!.routeTableId, via: 'same-az', natInstanceId: fleet.nats[i]!.instanceId }),
      ]);
    }
  });

  it('shows a failed-over zone (silent NAT, table served cross-AZ) and exits 1', async () => {
    const now = new Date();
    const [a, b] = fleet.nats as [MotoFleet['nats'][0], MotoFleet['nats'][0]];
    await publishHeartbeats(clients, a, now, 45, 3);
    await publishHeartbeats(clients, b, now, 2);
    await routeTo(clients, fleet.routeTables[0]!.routeTableId, b.networkInterfaceId);
    const io = motoIo(moto.endpoint);
    expect(await run(['status'], io)).toBe(1);
    const out = io.out();
    expect(out).toMatch(new RegExp(`us-east-1a\\s+${a.instanceId}\\s+InService/Healthy\\s+silent`));
    expect(out).toMatch(new RegExp(`us-east-1a\\s+${fleet.routeTables[0]!.routeTableId}\\s+${b.instanceId}\\s+cross-az`));
    expect(out).toContain(`✗ NatSilent  ${a.instanceId} (us-east-1a) is silent`);
  });

  it('plans the move off a silent NAT and its replacement, and changes nothing in AWS', async () => {
    const now = new Date();
    const [a, b] = fleet.nats as [MotoFleet['nats'][0], MotoFleet['nats'][0]];
    await publishHeartbeats(clients, a, now, 45, 3);
    await publishHeartbeats(clients, b, now, 2);
    const before = await defaultRoutes(clients, fleet);
    const io = motoIo(moto.endpoint);
    expect(await run(['plan', '--json'], io)).toBe(0);
    const plan = JSON.parse(io.out()) as PlanOutput;
    expect(plan.actions).toEqual([
      expect.objectContaining({ kind: 'SetRoute', routeTableId: fleet.routeTables[0]!.routeTableId, instanceId: b.instanceId }),
      expect.objectContaining({ kind: 'SetUnhealthy', instanceId: a.instanceId }),
    ]);
    // Nothing happened: routes and the group's health are as they were.
    expect(await defaultRoutes(clients, fleet)).toEqual(before);
    const group = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [MOTO_GROUP] }));
    expect(group.AutoScalingGroups![0]!.Instances!.map((i) => i.HealthStatus)).toEqual(['Healthy', 'Healthy']);
  });

  it('shows a route left on a terminated instance and plans it back to the zone NAT', async () => {
    const now = new Date();
    for (const nat of fleet.nats) await publishHeartbeats(clients, nat, now, 2);
    const table = fleet.routeTables[1]!.routeTableId;
    await blackhole(clients, fleet, table, 1);
    const io = motoIo(moto.endpoint);
    await run(['status', '--json'], io);
    const route = (JSON.parse(io.out()) as FleetView).groups[0]!.zones[1]!.routeTables[0]!;
    expect(route).toMatchObject({ routeTableId: table, via: 'unmanaged', pending: { instanceId: fleet.nats[1]!.instanceId } });
    const planIo = motoIo(moto.endpoint);
    await run(['plan'], planIo);
    expect(planIo.out()).toMatch(new RegExp(`SetRoute\\s+${table}\\s+replace 0\\.0\\.0\\.0/0 → ${fleet.nats[1]!.instanceId}`));
  });

  it('says what it searched when no group carries the managed tag', async () => {
    const io = motoIo(moto.endpoint);
    io.env.NATBEAT_GROUP_TAG_KEY = 'natbeat:other';
    expect(await run(['status'], io)).toBe(1);
    expect(io.err()).toContain('no managed NAT groups found: searched Auto Scaling groups tagged natbeat:other=true');
  });
});
