/**
 * What a reconcile run did for the instance of an Auto Scaling lifecycle action (launch: proved
 * and CONTINUEd, still waiting for its first heartbeat, or ABANDONed; terminate: tables handed
 * over, then CONTINUE). The run itself is the same as every other: an event is only a hint that
 * now is a good time to look, so a lost, repeated or reordered event cannot leave a route on a
 * dead NAT. A NAT still waiting for its first heartbeat is finished by a later run (the schedule,
 * or its zone's heartbeat alarm turning OK).
 */
import type { ControllerConfig } from './config';
import { LAUNCH_DETAIL_TYPE, type LifecycleActionEvent } from './events';
import type { ReconcileReport } from './reconcile';
import { LifecycleState } from './types';

/** Auto Scaling states of an instance whose launch hook may still be waiting (or not yet started). */
const LAUNCH_STATES = new Set<string>(['Pending', LifecycleState.PendingWait]);

export interface LifecycleOutcome {
  status: 'handled' | 'waiting' | 'ignored';
  message: string;
}

/** Why this lifecycle action is none of natbeat's business, if it is not (checked before any run). */
export function foreignHook(event: LifecycleActionEvent, config: Pick<ControllerConfig, 'launchHookName' | 'terminateHookName'>): string | undefined {
  const launching = event['detail-type'] === LAUNCH_DETAIL_TYPE;
  const expected = launching ? config.launchHookName : config.terminateHookName;
  if (event.detail.LifecycleHookName === expected) return undefined;
  return `hook ${event.detail.LifecycleHookName} is not natbeat's ${launching ? 'launch' : 'terminate'} hook (${expected})`;
}

export function lifecycleOutcome(event: LifecycleActionEvent, report: ReconcileReport): LifecycleOutcome {
  const { detail } = event;
  const launching = event['detail-type'] === LAUNCH_DETAIL_TYPE;
  const instanceId = detail.EC2InstanceId;
  const group = report.snapshot.groups.find((g) => g.name === detail.AutoScalingGroupName);
  if (!group) return { status: 'ignored', message: `group ${detail.AutoScalingGroupName} is not managed by natbeat (or could not be read)` };
  const nat = report.plan.nats.find((n) => n.instanceId === instanceId);
  const completion = report.results.find((r) => r.action.kind === 'CompleteLifecycle' && r.action.instanceId === instanceId);
  if (completion && completion.action.kind === 'CompleteLifecycle') {
    return {
      status: completion.status === 'failed' || completion.status === 'skipped' ? 'waiting' : 'handled',
      message: `${completion.action.reason}; ${completion.action.result} ${completion.status}`,
    };
  }
  // Only a NAT still launching is waited for; a repeated or late launch event finds it in
  // service, or already leaving, and has nothing left to do.
  const stillLaunching = nat !== undefined && launching && LAUNCH_STATES.has(nat.lifecycleState);
  const message = !nat
    ? `${instanceId} is no longer in ${group.name} (already gone or finished): nothing to do`
    : stillLaunching
      ? `${instanceId} has not proved it routes yet (${nat.reason}); a later reconcile completes its hook`
      : `${instanceId} is ${nat.lifecycleState}: nothing to ${launching ? 'complete' : 'hand over'}`;
  return { status: stillLaunching ? 'waiting' : 'handled', message };
}
