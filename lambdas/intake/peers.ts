/**
 * The deployment's NATs an agent should probe: the configured groups' instances that are in
 * service or launching (DescribeAutoScalingGroups), with their primary private address and zone
 * (DescribeInstances). Read-only, cached for the whole execution environment, so the agents need
 * no EC2 permission and a fleet beating every few seconds costs two calls per 30 s.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { IntakePeer } from '../../common/intake-contract';
import type { ClientSource } from './clients';

export const PEERS_TTL_MS = 30_000;

/** Launching (Pending, Pending:Wait, Pending:Proceed) or in service: anything else is leaving. */
const PROBED_STATES = /^(?:InService|Pending(?::Wait|:Proceed)?)$/;

export type PeersAnswer = { ok: true; peers: IntakePeer[] } | { ok: false; error: unknown };

export class PeerDirectory {
  private cached: { at: number; nats: IntakePeer[] } | undefined;

  constructor(
    private readonly clients: {
      autoScaling: ClientSource<AutoScalingClient>;
      ec2: ClientSource<EC2Client>;
    },
    private readonly groupNames: readonly string[],
    private readonly ttlMs = PEERS_TTL_MS,
  ) {}

  /** Every NAT but `instanceId`; never throws (a failed read is not cached, the next call asks again). */
  async peersOf(instanceId: string, nowMs: number): Promise<PeersAnswer> {
    try {
      if (!this.cached || nowMs - this.cached.at >= this.ttlMs || nowMs < this.cached.at) {
        this.cached = { at: nowMs, nats: await this.readNats() };
      }
      return { ok: true, peers: this.cached.nats.filter((nat) => nat.instanceId !== instanceId) };
    } catch (error) {
      return { ok: false, error };
    }
  }

  private async readNats(): Promise<IntakePeer[]> {
    const { DescribeAutoScalingGroupsCommand } = await import('@aws-sdk/client-auto-scaling');
    const autoScaling = await this.clients.autoScaling();
    const ids: string[] = [];
    let groupToken: string | undefined;
    do {
      const out = await autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [...this.groupNames], NextToken: groupToken }));
      for (const group of out.AutoScalingGroups ?? []) {
        if (!group.AutoScalingGroupName || !this.groupNames.includes(group.AutoScalingGroupName)) continue;
        for (const i of group.Instances ?? []) if (i.InstanceId && PROBED_STATES.test(i.LifecycleState ?? '')) ids.push(i.InstanceId);
      }
      groupToken = out.NextToken;
    } while (groupToken);
    if (ids.length === 0) return [];

    const { DescribeInstancesCommand } = await import('@aws-sdk/client-ec2');
    const ec2 = await this.clients.ec2();
    const nats: IntakePeer[] = [];
    // A filter, not InstanceIds: one instance gone since the group listed it must not fail the rest.
    let token: string | undefined;
    do {
      const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ids }], NextToken: token }));
      for (const instance of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        const { InstanceId: id, PrivateIpAddress: address, Placement } = instance;
        if (id && address && ids.includes(id)) nats.push({ instanceId: id, address, availabilityZone: Placement?.AvailabilityZone ?? 'unknown' });
      }
      token = out.NextToken;
    } while (token);
    return nats.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  }
}
