/**
 * An AWS world for the CLI behind aws-sdk-client-mock: one managed group with a NAT per AZ,
 * private route tables per AZ, heartbeats and witness reports answered from the report log's Queries.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients } from '../../lambdas/core/clients';
import type { CliIo } from '../../cli/io';
import { answerReportQuery } from '../support/report-log';

export const NOW = new Date('2026-06-01T12:00:00Z');
export const GROUP = 'nat-asg';
export const VPC = 'vpc-0cafe';

export interface MockNat {
  id: string;
  az: string;
  /** Seconds ago of each heartbeat (value 1 unless listed in failing). */
  beatsAgo?: number[];
  failingAgo?: number[];
  /** Peers that reported they cannot reach it, seconds ago. */
  namedBy?: { by: string; ago: number }[];
  launchedAgo?: number;
  lifecycle?: string;
  health?: string;
  sourceDestCheck?: boolean;
  publicIp?: string;
}

export interface MockTable {
  id: string;
  /** The AZ of its one subnet; empty: no subnet association. */
  az: string;
  /** A NAT id (routed by its ENI), another target id, or undefined for no default route. */
  to?: string;
  blackhole?: boolean;
}

export const eniOf = (natId: string) => `eni-${natId.slice(2)}`;
const subnetOf = (az: string, kind: 'pub' | 'priv') => `subnet-${kind}-${az.slice(-1)}`;
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);

/** Ten healthy beats, 10 s apart, the newest `last` seconds ago. */
export const beating = (last = 3) => Array.from({ length: 6 }, (_, i) => last + i * 10).reverse();

export function mockWorld(nats: MockNat[], tables: MockTable[]) {
  const ec2 = mockClient(EC2Client);
  const autoScaling = mockClient(AutoScalingClient);
  const dynamoDb = mockClient(DynamoDBClient);
  const azs = [...new Set([...nats.map((n) => n.az), ...tables.flatMap((t) => (t.az ? [t.az] : []))])].sort();

  autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: GROUP,
        MinSize: azs.length,
        MaxSize: azs.length,
        DesiredCapacity: azs.length,
        DefaultCooldown: 300,
        AvailabilityZones: azs,
        HealthCheckType: 'EC2',
        HealthCheckGracePeriod: 0,
        CreatedTime: ago(86_400),
        VPCZoneIdentifier: azs.map((az) => subnetOf(az, 'pub')).join(','),
        Tags: [{ Key: 'natbeat:managed', Value: 'true', ResourceId: GROUP, ResourceType: 'auto-scaling-group', PropagateAtLaunch: false }],
        Instances: nats.map((n) => ({
          InstanceId: n.id,
          AvailabilityZone: n.az,
          LifecycleState: (n.lifecycle ?? 'InService') as 'InService',
          HealthStatus: n.health ?? 'Healthy',
          ProtectedFromScaleIn: false,
        })),
      },
    ],
  });
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: nats.map((n) => ({
          InstanceId: n.id,
          State: { Name: 'running', Code: 16 },
          LaunchTime: ago(n.launchedAgo ?? 3600),
          VpcId: VPC,
          Placement: { AvailabilityZone: n.az },
          SourceDestCheck: n.sourceDestCheck ?? false,
          NetworkInterfaces: [{ NetworkInterfaceId: eniOf(n.id), Attachment: { DeviceIndex: 0 } }],
        })),
      },
    ],
  });
  ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: azs.flatMap((az) =>
      (['pub', 'priv'] as const).map((kind) => ({ SubnetId: subnetOf(az, kind), VpcId: VPC, AvailabilityZone: az })),
    ),
  });
  ec2.on(DescribeRouteTablesCommand).resolves({
    RouteTables: tables.map((t) => {
      const nat = nats.find((n) => n.id === t.to) ?? (t.to?.startsWith('i-') ? { id: t.to } : undefined);
      return {
        RouteTableId: t.id,
        VpcId: VPC,
        Associations: t.az ? [{ RouteTableId: t.id, SubnetId: subnetOf(t.az, 'priv'), Main: false }] : [],
        Tags: [{ Key: 'network', Value: 'private' }],
        Routes: [
          { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active' },
          ...(t.to === undefined
            ? []
            : [
                nat
                  ? { DestinationCidrBlock: '0.0.0.0/0', InstanceId: nat.id, NetworkInterfaceId: eniOf(nat.id), State: t.blackhole ? 'blackhole' : 'active' }
                  : t.to.startsWith('nat-')
                    ? { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: t.to, State: 'active' }
                    : { DestinationCidrBlock: '0.0.0.0/0', GatewayId: t.to, State: 'active' },
              ]),
        ] as never,
      };
    }),
  });
  ec2.on(DescribeAddressesCommand).resolves({
    Addresses: nats
      .filter((n) => n.publicIp)
      .map((n) => ({ InstanceId: n.id, PublicIp: n.publicIp, AllocationId: `eipalloc-${n.id.slice(2)}` })),
  });
  dynamoDb.on(QueryCommand).callsFake((input: QueryCommandInput) =>
    answerReportQuery(input, {
      beats: (id) => {
        const nat = nats.find((n) => n.id === id);
        return [...(nat?.beatsAgo ?? []).map((s) => ({ at: ago(s), value: 1 })), ...(nat?.failingAgo ?? []).map((s) => ({ at: ago(s), value: 0 }))];
      },
      witnesses: (id) => (nats.find((n) => n.id === id)?.namedBy ?? []).map((w) => ({ witnessId: w.by, at: ago(w.ago) })),
    }),
  );
  return { ec2, autoScaling, dynamoDb, restore: () => [ec2, autoScaling, dynamoDb].forEach((m) => m.restore()) };
}

export interface CapturedIo extends CliIo {
  out: () => string;
  err: () => string;
}

export function captureIo(options: { env?: Record<string, string | undefined>; isTTY?: boolean } = {}): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: options.isTTY ?? false },
    stderr: { write: (s: string) => (err += s) },
    env: { AWS_REGION: 'us-east-1', NATBEAT_REPORT_TABLE: 'natbeat-reports', ...options.env },
    now: () => NOW,
    clients: (o) => createAwsClients({ region: o.region ?? 'us-east-1', maxAttempts: 1 }),
    out: () => out,
    err: () => err,
  };
}
