/**
 * Auto Scaling: one group across AZs that keeps its desired capacity, replaces Unhealthy
 * instances (terminate-then-launch, or launch-first under an instance maintenance policy),
 * holds instances in lifecycle hooks until CompleteLifecycleAction or the hook's timeout
 * (then the default result), and announces each wait as an EventBridge event (best effort).
 */
import type { Timer } from '../clock';
import { awsError } from './errors';
import { page, type Filter, type Input, type WorldContext } from './context';
import type { Ec2World, SimInstance } from './ec2';

export interface SimHook {
  name: string;
  transition: 'launch' | 'terminate';
  timeoutSeconds: number;
  defaultResult: 'CONTINUE' | 'ABANDON';
}

export interface SimGroupInstance {
  instanceId: string;
  availabilityZone: string;
  lifecycleState: string;
  healthStatus: 'Healthy' | 'Unhealthy';
  /** Set when the instance is to be replaced: 'pending' until a replacement is launched (launch-first). */
  replacedBy?: string;
  /** Planned replacement (instance refresh, max lifetime) rather than a health replacement. */
  planned?: boolean;
  waitingOn?: { hook: SimHook; timer: Timer };
}

export interface SimGroup {
  name: string;
  tags: Record<string, string>;
  /** One subnet per AZ, where the NATs run. */
  subnetIds: string[];
  desired: number;
  healthCheckGraceSeconds: number;
  hooks: SimHook[];
  order: 'launch-first' | 'terminate-first';
  instances: SimGroupInstance[];
}

export interface LifecycleEventDetail {
  LifecycleActionToken: string;
  AutoScalingGroupName: string;
  LifecycleHookName: string;
  EC2InstanceId: string;
  LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING';
}

export interface AutoScalingHooks {
  /** Starts a NAT (EC2 launch plus whatever the NAT does at boot). */
  launch(subnetId: string, group: SimGroup): SimInstance;
  /** A lifecycle action is waiting: Auto Scaling sends an EventBridge event. */
  lifecycleEvent(detail: LifecycleEventDetail): void;
}

export class AutoScalingWorld {
  readonly groups = new Map<string, SimGroup>();
  private readonly failedLaunchZones = new Set<string>();
  private tokens = 0;

  constructor(
    private readonly ctx: WorldContext,
    private readonly ec2: Ec2World,
    private readonly hooks: AutoScalingHooks,
  ) {}

  addGroup(group: SimGroup): void {
    this.groups.set(group.name, group);
  }

  /** Health and capacity pass, every asgCycleSeconds. */
  cycle(): void {
    const now = this.ctx.clock.now();
    for (const group of this.groups.values()) {
      for (const member of group.instances) {
        const instance = this.ec2.instances.get(member.instanceId);
        if (member.lifecycleState !== 'InService' || member.healthStatus === 'Unhealthy' || !instance) continue;
        const inGrace = now - instance.launchTime < group.healthCheckGraceSeconds * 1000;
        const gone = instance.state === 'terminated' || instance.state === 'shutting-down';
        const impairedLongEnough =
          instance.impairedSince !== undefined && statusCheckFailingSince(this.ctx, instance) !== undefined &&
          now - statusCheckFailingSince(this.ctx, instance)! >= this.ctx.params.impairedReplaceAfterSeconds * 1000;
        if (gone || (!inGrace && impairedLongEnough)) {
          member.healthStatus = 'Unhealthy';
          this.ctx.timeline.record('asg', `EC2 health check: ${member.instanceId} Unhealthy (${gone ? instance.state : 'status checks impaired'})`, member.availabilityZone);
        }
      }
      this.replace(group);
      this.fillCapacity(group);
    }
  }

  /** Planned replacement (instance refresh, max instance lifetime), by the group's order. */
  requestReplacement(instanceId: string): void {
    const member = this.findMember(instanceId)?.member;
    if (!member) return;
    member.planned = true;
    this.ctx.timeline.record('asg', `planned replacement of ${instanceId} (instance refresh / max lifetime)`, member.availabilityZone);
  }

  private replace(group: SimGroup): void {
    for (const member of [...group.instances]) {
      if (member.lifecycleState !== 'InService') continue;
      if (member.healthStatus !== 'Unhealthy' && !member.planned) continue;
      if (group.order === 'terminate-first') {
        this.terminate(group, member, member.planned ? 'planned replacement' : 'Unhealthy');
        continue;
      }
      const successor = member.replacedBy && member.replacedBy !== 'pending' ? group.instances.find((i) => i.instanceId === member.replacedBy) : undefined;
      if (!member.replacedBy || (member.replacedBy !== 'pending' && !successor)) member.replacedBy = 'pending';
      else if (successor?.lifecycleState === 'InService') this.terminate(group, member, `replaced by ${successor.instanceId}`);
    }
  }

  private fillCapacity(group: SimGroup): void {
    const counted = () => group.instances.filter((i) => !i.lifecycleState.startsWith('Terminat') && !i.replacedBy);
    while (counted().length < group.desired) {
      const perZone = new Map<string, number>();
      for (const subnetId of group.subnetIds) perZone.set(this.ec2.subnets.get(subnetId)!.availabilityZone, 0);
      for (const i of counted()) perZone.set(i.availabilityZone, (perZone.get(i.availabilityZone) ?? 0) + 1);
      const zone = [...perZone].sort(([za, a], [zb, b]) => a - b || za.localeCompare(zb))[0]![0];
      if (this.ctx.zonesDown.has(zone)) {
        // The zone cannot launch: keep trying there (no cross-zone launch in this model).
        if (!this.failedLaunchZones.has(zone)) this.ctx.timeline.record('asg', `launch failed in ${zone} (zone unavailable); retrying`, zone);
        this.failedLaunchZones.add(zone);
        return;
      }
      this.failedLaunchZones.delete(zone);
      const subnetId = group.subnetIds.find((s) => this.ec2.subnets.get(s)!.availabilityZone === zone)!;
      this.launch(group, subnetId);
    }
  }

  private launch(group: SimGroup, subnetId: string): void {
    const instance = this.hooks.launch(subnetId, group);
    const member: SimGroupInstance = { instanceId: instance.instanceId, availabilityZone: instance.availabilityZone, lifecycleState: 'Pending', healthStatus: 'Healthy' };
    group.instances.push(member);
    const predecessor = group.instances.find((i) => i.replacedBy === 'pending' && i.availabilityZone === instance.availabilityZone);
    if (predecessor) predecessor.replacedBy = instance.instanceId;
    this.ctx.timeline.record('asg', `launching ${instance.instanceId}${predecessor ? ` to replace ${predecessor.instanceId}` : ''}`, instance.availabilityZone);
    const hook = group.hooks.find((h) => h.transition === 'launch');
    const pendingMs = this.ctx.params.instancePendingSeconds * 1000;
    if (hook) this.ctx.clock.after(1000, () => this.wait(group, member, hook));
    else this.ctx.clock.after(pendingMs, () => this.enterService(member));
  }

  private enterService(member: SimGroupInstance): void {
    if (member.lifecycleState.startsWith('Terminat')) return;
    member.lifecycleState = 'InService';
    this.ctx.timeline.record('asg', `${member.instanceId} InService`, member.availabilityZone);
  }

  terminate(group: SimGroup, member: SimGroupInstance, why: string): void {
    if (member.lifecycleState.startsWith('Terminat')) return;
    member.waitingOn?.timer.cancel();
    member.waitingOn = undefined;
    member.lifecycleState = 'Terminating';
    this.ctx.timeline.record('asg', `terminating ${member.instanceId} (${why})`, member.availabilityZone);
    const hook = group.hooks.find((h) => h.transition === 'terminate');
    if (hook) this.wait(group, member, hook);
    else this.proceedTermination(group, member);
  }

  private proceedTermination(group: SimGroup, member: SimGroupInstance): void {
    member.lifecycleState = 'Terminating:Proceed';
    this.ec2.terminate(member.instanceId, () => {
      group.instances = group.instances.filter((i) => i !== member);
      this.ctx.timeline.record('asg', `${member.instanceId} terminated`, member.availabilityZone);
    });
  }

  private wait(group: SimGroup, member: SimGroupInstance, hook: SimHook): void {
    if (hook.transition === 'launch' && member.lifecycleState !== 'Pending') return;
    member.lifecycleState = hook.transition === 'launch' ? 'Pending:Wait' : 'Terminating:Wait';
    const timer = this.ctx.clock.after(hook.timeoutSeconds * 1000, () => this.complete(group, member, hook.defaultResult, `hook ${hook.name} timed out`));
    member.waitingOn = { hook, timer };
    this.hooks.lifecycleEvent({
      LifecycleActionToken: `token-${++this.tokens}`,
      AutoScalingGroupName: group.name,
      LifecycleHookName: hook.name,
      EC2InstanceId: member.instanceId,
      LifecycleTransition: hook.transition === 'launch' ? 'autoscaling:EC2_INSTANCE_LAUNCHING' : 'autoscaling:EC2_INSTANCE_TERMINATING',
    });
  }

  private complete(group: SimGroup, member: SimGroupInstance, result: 'CONTINUE' | 'ABANDON', by: string): void {
    const hook = member.waitingOn?.hook;
    if (!hook) return;
    member.waitingOn!.timer.cancel();
    member.waitingOn = undefined;
    this.ctx.timeline.record('asg', `${hook.name} ${result} for ${member.instanceId} (${by})`, member.availabilityZone);
    if (hook.transition === 'terminate') return this.proceedTermination(group, member);
    if (result === 'ABANDON') {
      member.lifecycleState = 'Terminating';
      return this.proceedTermination(group, member);
    }
    member.lifecycleState = 'Pending:Proceed';
    const instance = this.ec2.instances.get(member.instanceId);
    const runningAt = (instance?.launchTime ?? 0) + this.ctx.params.instancePendingSeconds * 1000;
    this.ctx.clock.at(Math.max(runningAt, this.ctx.clock.now() + 1000), () => this.enterService(member));
  }

  private findMember(instanceId: string): { group: SimGroup; member: SimGroupInstance } | undefined {
    for (const group of this.groups.values()) {
      const member = group.instances.find((i) => i.instanceId === instanceId);
      if (member) return { group, member };
    }
    return undefined;
  }

  // ---- the API --------------------------------------------------------------------------------

  handle(command: string, input: Input): unknown {
    switch (command) {
      case 'DescribeAutoScalingGroups':
        return this.describeGroups(input);
      case 'DescribeAutoScalingInstances':
        return this.describeInstances(input);
      case 'SetInstanceHealth':
        return this.setInstanceHealth(input);
      case 'CompleteLifecycleAction':
        return this.completeLifecycleAction(input);
      default:
        throw awsError('autoscaling', 'InvalidAction', `Could not find operation ${command}`);
    }
  }

  private describeGroups(input: Input) {
    if (input.MaxRecords !== undefined && (input.MaxRecords < 1 || input.MaxRecords > 100)) {
      throw awsError('autoscaling', 'ValidationError', `1 validation error detected: Value '${input.MaxRecords}' at 'maxRecords' failed to satisfy constraint: Member must have value less than or equal to 100`);
    }
    const matches = [...this.groups.values()].filter(
      (g) => (!input.AutoScalingGroupNames || input.AutoScalingGroupNames.includes(g.name)) && matchGroupFilters(input.Filters, g),
    );
    const { items, nextToken } = page(matches, input.MaxRecords ?? 50, input.NextToken);
    return {
      AutoScalingGroups: items.map((g) => ({
        AutoScalingGroupName: g.name,
        AutoScalingGroupARN: `arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:uuid:autoScalingGroupName/${g.name}`,
        MinSize: g.desired,
        MaxSize: g.desired * 2,
        DesiredCapacity: g.desired,
        DefaultCooldown: 300,
        HealthCheckType: 'EC2',
        HealthCheckGracePeriod: g.healthCheckGraceSeconds,
        VPCZoneIdentifier: g.subnetIds.join(','),
        AvailabilityZones: g.subnetIds.map((s) => this.ec2.subnets.get(s)!.availabilityZone),
        CreatedTime: new Date(0),
        Instances: g.instances.map((i) => ({
          InstanceId: i.instanceId,
          InstanceType: 't4g.nano',
          AvailabilityZone: i.availabilityZone,
          LifecycleState: i.lifecycleState,
          HealthStatus: i.healthStatus,
          ProtectedFromScaleIn: false,
        })),
        Tags: Object.entries(g.tags).map(([Key, Value]) => ({ Key, Value, ResourceId: g.name, ResourceType: 'auto-scaling-group', PropagateAtLaunch: true })),
      })),
      NextToken: nextToken,
    };
  }

  /** DescribeAutoScalingInstances by InstanceIds (what the intake asks about a caller). */
  private describeInstances(input: Input) {
    const ids = input.InstanceIds as string[] | undefined;
    if (ids && ids.length > 50) throw awsError('autoscaling', 'ValidationError', 'The number of instance ids that may be passed in is limited to 50');
    const rows = [...this.groups.values()].flatMap((g) => g.instances.filter((i) => !ids || ids.includes(i.instanceId)).map((i) => ({ g, i })));
    const { items, nextToken } = page(rows, input.MaxRecords ?? 50, input.NextToken);
    return {
      AutoScalingInstances: items.map(({ g, i }) => ({
        InstanceId: i.instanceId,
        AutoScalingGroupName: g.name,
        AvailabilityZone: i.availabilityZone,
        LifecycleState: i.lifecycleState,
        HealthStatus: i.healthStatus.toUpperCase(),
        ProtectedFromScaleIn: false,
      })),
      ...(nextToken ? { NextToken: nextToken } : {}),
    };
  }

  private setInstanceHealth(input: Input) {
    const found = this.findMember(String(input.InstanceId));
    if (!found) throw awsError('autoscaling', 'ValidationError', `Instance Id not found - No managed instance found for instance id: ${String(input.InstanceId)}`);
    if (input.HealthStatus !== 'Healthy' && input.HealthStatus !== 'Unhealthy') {
      throw awsError('autoscaling', 'ValidationError', `Health status ${String(input.HealthStatus)} is invalid; must be Healthy or Unhealthy`);
    }
    const { group, member } = found;
    const instance = this.ec2.instances.get(member.instanceId);
    const inGrace = instance !== undefined && this.ctx.clock.now() - instance.launchTime < group.healthCheckGraceSeconds * 1000;
    if (input.ShouldRespectGracePeriod && inGrace) return {};
    if (member.healthStatus !== input.HealthStatus) {
      member.healthStatus = input.HealthStatus;
      this.ctx.timeline.record('asg', `SetInstanceHealth ${member.instanceId} ${input.HealthStatus}`, member.availabilityZone);
    }
    return {};
  }

  private completeLifecycleAction(input: Input) {
    const group = this.groups.get(String(input.AutoScalingGroupName));
    if (!group) throw awsError('autoscaling', 'ValidationError', `AutoScalingGroup name not found - ${String(input.AutoScalingGroupName)}`);
    if (!group.hooks.some((h) => h.name === input.LifecycleHookName)) {
      throw awsError('autoscaling', 'ValidationError', `No Lifecycle Hook found with name ${String(input.LifecycleHookName)} for group ${group.name}`);
    }
    if (input.LifecycleActionResult !== 'CONTINUE' && input.LifecycleActionResult !== 'ABANDON') {
      throw awsError('autoscaling', 'ValidationError', 'LifecycleActionResult must be CONTINUE or ABANDON');
    }
    const member = group.instances.find((i) => i.instanceId === input.InstanceId && i.waitingOn?.hook.name === input.LifecycleHookName);
    if (!member) throw awsError('autoscaling', 'ValidationError', `No active Lifecycle Action found with instance ID ${String(input.InstanceId)}`);
    this.complete(group, member, input.LifecycleActionResult, 'CompleteLifecycleAction');
    return {};
  }
}

/** When the EC2 status checks first saw the impairment (they run every statusCheckIntervalSeconds). */
function statusCheckFailingSince(ctx: WorldContext, instance: SimInstance): number | undefined {
  if (instance.impairedSince === undefined) return undefined;
  const period = ctx.params.statusCheckIntervalSeconds * 1000;
  const seenAt = Math.ceil(instance.impairedSince / period) * period;
  return seenAt <= ctx.clock.now() ? seenAt : undefined;
}

function matchGroupFilters(filters: Filter[] | undefined, group: SimGroup): boolean {
  for (const f of filters ?? []) {
    const name = f.Name ?? '';
    const values = f.Values ?? [];
    if (name.startsWith('tag:')) {
      const v = group.tags[name.slice(4)];
      if (v === undefined || !values.includes(v)) return false;
    } else if (name === 'tag-key') {
      if (!Object.keys(group.tags).some((k) => values.includes(k))) return false;
    } else if (name === 'tag-value') {
      if (!Object.values(group.tags).some((v) => values.includes(v))) return false;
    } else {
      throw awsError('autoscaling', 'ValidationError', `Filter name ${name} is invalid`);
    }
  }
  return true;
}
