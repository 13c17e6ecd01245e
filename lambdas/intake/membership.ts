/**
 * Is the caller a NAT of this deployment, and where? DescribeAutoScalingInstances for the one
 * instance, cached per instance (answers "in no group" too) so a NAT beating every few seconds
 * costs one Auto Scaling call a minute.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { ClientSource } from './clients';

export interface GroupMembership {
  groupName: string;
  availabilityZone: string;
}

export const MEMBERSHIP_TTL_MS = 60_000;

export class MembershipCache {
  private readonly cache = new Map<string, { at: number; member: GroupMembership | undefined }>();

  constructor(
    private readonly autoScaling: ClientSource<AutoScalingClient>,
    private readonly ttlMs = MEMBERSHIP_TTL_MS,
    private readonly maxEntries = 1_024,
  ) {}

  /** The instance's group and zone; undefined when it is in no group. Throws when AWS cannot be asked. */
  async lookup(instanceId: string, nowMs: number): Promise<GroupMembership | undefined> {
    const hit = this.cache.get(instanceId);
    if (hit && nowMs - hit.at < this.ttlMs && nowMs >= hit.at) return hit.member;
    const { DescribeAutoScalingInstancesCommand } = await import('@aws-sdk/client-auto-scaling');
    const out = await (await this.autoScaling()).send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
    const found = out.AutoScalingInstances?.find((i) => i.InstanceId === instanceId);
    const member = found?.AutoScalingGroupName ? { groupName: found.AutoScalingGroupName, availabilityZone: found.AvailabilityZone ?? 'unknown' } : undefined;
    this.cache.delete(instanceId);
    this.cache.set(instanceId, { at: nowMs, member });
    while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    return member;
  }
}
