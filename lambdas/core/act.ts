/**
 * act(): carries out a plan's actions, phase by phase, so that a NAT is prepared before routes
 * point at it and routes move before a lifecycle hook lets an instance go. Each action succeeds
 * or fails on its own; a failure only holds back the actions that depend on it, and the next
 * reconcile retries whatever is still wrong.
 */
import { CompleteLifecycleActionCommand, SetInstanceHealthCommand } from '@aws-sdk/client-auto-scaling';
import {
  AssociateAddressCommand,
  CreateRouteCommand,
  CreateTagsCommand,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { formatHandoverTag, HANDOVER_TAG_KEY } from '../../common/handover';
import type { AwsClients } from './clients';
import { awsErrorCode, errorMessage } from './errors';
import type { ActionLog } from './log';
import { DEFAULT_ROUTE_CIDR, type Action, type ActionKind } from './types';

export type ActionStatus = 'done' | 'dry-run' | 'skipped' | 'failed';

export interface ActionResult {
  action: Action;
  status: ActionStatus;
  /** Error code and message of a failed call, or why an action was skipped. */
  detail?: string;
}

export interface ActOptions {
  dryRun: boolean;
  log: ActionLog;
  /** Mutating EC2 calls refill at 5 per second per account: keep bursts modest. */
  concurrency?: number;
  /** After a handover tag is written, wait this long before moving routes (its agent polls for it). */
  handoverLeadMs?: number;
  /** Waits (a simulator passes its virtual clock's). */
  sleep?: (ms: number) => Promise<void>;
}

const PHASES: ActionKind[][] = [
  ['DisableSourceDestCheck', 'AssociateElasticIp', 'TagHandover'],
  ['SetRoute'],
  ['CompleteLifecycle'],
  ['SetUnhealthy'],
];

export async function act(clients: AwsClients, actions: Action[], options: ActOptions): Promise<ActionResult[]> {
  const results: ActionResult[] = [];
  for (const kinds of PHASES) {
    const phase = actions.filter((a) => kinds.includes(a.kind));
    const phaseResults = await mapLimited(phase, options.concurrency ?? 8, async (action) => {
      const blocker = blockedBy(action, results);
      if (blocker) {
        options.log.warn('action skipped', { action: action.kind, ...resourceIds(action), reason: blocker });
        return { action, status: 'skipped' as const, detail: blocker };
      }
      if (options.dryRun) {
        options.log.info(`dry run: would ${describe(action)}`, { action: action.kind, ...resourceIds(action), reason: action.reason });
        return { action, status: 'dry-run' as const };
      }
      try {
        await perform(clients, action);
        options.log.info(describe(action), { action: action.kind, ...resourceIds(action), reason: action.reason });
        return { action, status: 'done' as const };
      } catch (error) {
        const detail = `${awsErrorCode(error)}: ${errorMessage(error)}`;
        options.log.error(`failed to ${describe(action)}`, { action: action.kind, ...resourceIds(action), error: detail });
        return { action, status: 'failed' as const, detail };
      }
    });
    results.push(...phaseResults);
    // The NAT taking tables on a planned move must see its handover tag before the first of their packets.
    const tagged = phaseResults.some((r) => r.action.kind === 'TagHandover' && r.status === 'done');
    if (tagged && options.handoverLeadMs && actions.some((a) => a.kind === 'SetRoute')) {
      await (options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms))))(options.handoverLeadMs);
    }
  }
  return results;
}

/** Why an action must wait for the next run, given what already happened in this one. */
function blockedBy(action: Action, earlier: ActionResult[]): string | undefined {
  const unsuccessful = earlier.filter((r) => r.status === 'failed' || r.status === 'skipped').map((r) => r.action);
  switch (action.kind) {
    case 'SetRoute':
      if (unsuccessful.some((a) => a.kind === 'DisableSourceDestCheck' && a.instanceId === action.instanceId)) {
        return `source/dest check of ${action.instanceId} could not be turned off`;
      }
      return undefined;
    case 'CompleteLifecycle': {
      if (action.result !== 'CONTINUE') return undefined;
      const stuck = unsuccessful.find(
        (a) =>
          (a.kind === 'SetRoute' && (a.instanceId === action.instanceId || a.previousInstanceId === action.instanceId)) ||
          (a.kind === 'DisableSourceDestCheck' && a.instanceId === action.instanceId),
      );
      return stuck ? `waiting for ${describe(stuck)}` : undefined;
    }
    default:
      return undefined;
  }
}

async function perform(clients: AwsClients, action: Action): Promise<void> {
  switch (action.kind) {
    case 'DisableSourceDestCheck':
      await clients.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: action.instanceId, SourceDestCheck: { Value: false } }));
      return;
    case 'AssociateElasticIp':
      await clients.ec2.send(
        new AssociateAddressCommand({
          AllocationId: action.allocationId,
          NetworkInterfaceId: action.networkInterfaceId,
          AllowReassociation: true,
        }),
      );
      return;
    case 'SetRoute':
      await writeDefaultRoute(clients, action);
      return;
    case 'TagHandover':
      await clients.ec2.send(
        new CreateTagsCommand({
          Resources: [action.instanceId],
          Tags: [{ Key: HANDOVER_TAG_KEY, Value: formatHandoverTag({ address: action.fromAddress, until: action.until }) }],
        }),
      );
      return;
    case 'CompleteLifecycle':
      try {
        await clients.autoScaling.send(
          new CompleteLifecycleActionCommand({
            AutoScalingGroupName: action.groupName,
            LifecycleHookName: action.hookName,
            InstanceId: action.instanceId,
            LifecycleActionResult: action.result,
          }),
        );
      } catch (error) {
        // Completed already (a repeated event, an earlier run, or the hook's own timeout): nothing left to do.
        if (awsErrorCode(error) === 'ValidationError' && /no active lifecycle action/i.test(errorMessage(error))) return;
        throw error;
      }
      return;
    case 'SetUnhealthy':
      await clients.autoScaling.send(
        new SetInstanceHealthCommand({ InstanceId: action.instanceId, HealthStatus: 'Unhealthy', ShouldRespectGracePeriod: false }),
      );
      return;
  }
}

/**
 * Points 0.0.0.0/0 at the NAT's primary ENI. The plan says create or replace from what it saw;
 * if the table changed since (eventual consistency, a concurrent writer), the other call follows.
 * A default route is never deleted.
 */
async function writeDefaultRoute(clients: AwsClients, action: Extract<Action, { kind: 'SetRoute' }>): Promise<void> {
  const input = { RouteTableId: action.routeTableId, DestinationCidrBlock: DEFAULT_ROUTE_CIDR, NetworkInterfaceId: action.networkInterfaceId };
  const create = () => clients.ec2.send(new CreateRouteCommand(input));
  const replace = () => clients.ec2.send(new ReplaceRouteCommand(input));
  try {
    await (action.mode === 'create' ? create() : replace());
  } catch (error) {
    const code = awsErrorCode(error);
    if (action.mode === 'create' && code === 'RouteAlreadyExists') await replace();
    else if (action.mode === 'replace' && code === 'InvalidRoute.NotFound') await create();
    else throw error;
  }
}

export function describe(action: Action): string {
  switch (action.kind) {
    case 'SetUnhealthy':
      return `mark ${action.instanceId} Unhealthy in ${action.groupName}`;
    case 'DisableSourceDestCheck':
      return `turn off source/dest check on ${action.instanceId}`;
    case 'AssociateElasticIp':
      return `associate ${action.allocationId} with ${action.instanceId}`;
    case 'TagHandover':
      return `tag ${action.instanceId} to hand mid-stream flows to ${action.fromInstanceId} (${action.fromAddress}) until ${action.until.toISOString()}`;
    case 'SetRoute':
      return `${action.mode === 'create' ? 'create' : 'replace'} ${DEFAULT_ROUTE_CIDR} in ${action.routeTableId} → ${action.instanceId}`;
    case 'CompleteLifecycle':
      return `complete ${action.hookName} for ${action.instanceId} with ${action.result}`;
  }
}

/** The resource ids an action concerns, for structured log lines. */
export function resourceIds(action: Action): Record<string, string> {
  const ids: Record<string, string> = { instanceId: action.instanceId };
  if ('groupName' in action) ids.groupName = action.groupName;
  if (action.kind === 'SetRoute') {
    ids.routeTableId = action.routeTableId;
    ids.networkInterfaceId = action.networkInterfaceId;
    if (action.previousInstanceId) ids.previousInstanceId = action.previousInstanceId;
  }
  if (action.kind === 'AssociateElasticIp') ids.allocationId = action.allocationId;
  if (action.kind === 'TagHandover') ids.fromInstanceId = action.fromInstanceId;
  return ids;
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}
