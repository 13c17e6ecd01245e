/**
 * The lifecycle hooks' part of the plan: a launching NAT is let in once it proved it routes (or
 * abandoned when it never will), a leaving NAT is let go once its tables were handed over (or with
 * an alert when no NAT can take them). Pure: no I/O, no clock.
 */
import type { Assessed } from './assess';
import type { DecideConfig } from './decide';
import { LifecycleState, type Action, type Alert, type PrivateRouteTable, type Snapshot } from './types';

// EC2 states from which a launching instance will never serve.
const GONE_EC2_STATES = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

export function planLifecycle(
  snapshot: Snapshot,
  assessed: Assessed[],
  routeActions: Action[],
  config: DecideConfig,
  alerts: Alert[],
): Action[] {
  const actions: Action[] = [];
  const unobserved = new Set(snapshot.unobservedVpcIds);
  for (const nat of assessed) {
    const state = nat.lifecycleState;
    if (state === LifecycleState.PendingWait) {
      if (nat.routable) {
        actions.push(complete(nat, config.launchHookName, 'CONTINUE', `proved it routes: ${nat.reason}`));
      } else if (nat.instance.ec2State !== undefined && GONE_EC2_STATES.has(nat.instance.ec2State)) {
        // Only a known end: right after launch EC2 may not list the instance yet (eventual
        // consistency), and abandoning it then would replace a healthy launch.
        actions.push(complete(nat, config.launchHookName, 'ABANDON', `launching instance is ${nat.instance.ec2State}`));
      } else if ((nat.launchedSecondsAgo ?? 0) >= config.launchProofTimeoutSeconds) {
        actions.push(
          complete(nat, config.launchHookName, 'ABANDON', `no healthy heartbeat within ${config.launchProofTimeoutSeconds} s of launch`),
        );
      }
    } else if (state === LifecycleState.TerminatingWait) {
      if (nat.vpcId !== undefined && unobserved.has(nat.vpcId)) continue; // routes unknown: next run
      const stranded = snapshot.routeTables.filter(
        (t) =>
          pointsAt(t, nat) && !routeActions.some((a) => a.kind === 'SetRoute' && a.routeTableId === t.routeTableId),
      );
      if (stranded.length > 0) {
        alerts.push({
          kind: 'LeavingWithoutSuccessor',
          message: `${nat.instanceId} is terminating and no healthy NAT can take ${stranded.map((t) => t.routeTableId).join(', ')}`,
          resourceIds: [nat.instanceId, ...stranded.map((t) => t.routeTableId)],
        });
      }
      const moved = routeActions.filter((a) => a.kind === 'SetRoute' && a.previousInstanceId === nat.instanceId).length;
      actions.push(
        complete(
          nat,
          config.terminateHookName,
          'CONTINUE',
          stranded.length > 0
            ? `releasing with ${stranded.length} route table(s) and no successor`
            : `${moved} route table(s) handed over first`,
        ),
      );
    }
  }
  return actions;
}

function pointsAt(table: PrivateRouteTable, nat: Assessed): boolean {
  const r = table.defaultRoute;
  if (!r) return false;
  return r.instanceId === nat.instanceId || (r.networkInterfaceId !== undefined && r.networkInterfaceId === nat.instance.networkInterfaceId);
}

function complete(nat: Assessed, hookName: string, result: 'CONTINUE' | 'ABANDON', reason: string): Action {
  return { kind: 'CompleteLifecycle', groupName: nat.groupName, hookName, instanceId: nat.instanceId, result, reason };
}
