/** The terminal rendering of `natbeat plan`. */
import { HANDOVER_TAG_KEY } from '../../common/handover';
import type { Action } from '../../lambdas/core/types';
import type { PlanOutput } from '../commands/plan';
import { renderAlerts } from './status-text';
import type { Style } from './style';
import { renderTable } from './table';

export function renderPlan(plan: PlanOutput, style: Style): string {
  const out: string[] = [`${style('bold', 'natbeat plan')} · dry run at ${plan.observedAt} · nothing was changed`, ''];
  if (plan.actions.length === 0) {
    out.push(style('green', 'No actions: the controller would change nothing now.'));
  } else {
    out.push(`${plan.actions.length} action(s) the controller would take now, in order:`);
    out.push(
      renderTable(
        [{ header: '#', right: true }, { header: 'ACTION' }, { header: 'RESOURCE' }, { header: 'CHANGE' }, { header: 'REASON' }],
        plan.actions.map((a, i) => [String(i + 1), style('yellow', a.kind), ...describeAction(a), a.reason]),
        { indent: '  ', header: (h) => style('dim', h) },
      ),
    );
  }
  if (plan.valveTripped) out.push('', style(['red', 'bold'], 'Safety valve tripped: no NAT would be marked Unhealthy.'));
  out.push('', ...renderAlerts(plan.alerts, style));
  for (const note of plan.notes) out.push(style('dim', `note: ${note}`));
  return out.join('\n') + '\n';
}

/** [resource, change] of one action. */
export function describeAction(a: Action): [string, string] {
  switch (a.kind) {
    case 'SetRoute':
      return [a.routeTableId, `${a.mode} 0.0.0.0/0 → ${a.instanceId} (${a.networkInterfaceId})${a.previous ? `, was ${previousTarget(a)}` : ''}`];
    case 'SetUnhealthy':
      return [`${a.instanceId} (${a.groupName})`, 'mark Unhealthy: Auto Scaling replaces it'];
    case 'DisableSourceDestCheck':
      return [a.instanceId, 'turn source/destination check off'];
    case 'TagHandover':
      return [a.instanceId, `tag ${HANDOVER_TAG_KEY}: hand mid-stream flows to ${a.fromInstanceId} (${a.fromAddress}) until ${a.until.toISOString()}`];
    case 'AssociateElasticIp':
      return [a.allocationId, `associate with ${a.instanceId} (${a.networkInterfaceId})`];
    case 'CompleteLifecycle':
      return [`${a.instanceId} (${a.groupName})`, `complete ${a.hookName} with ${a.result}`];
  }
}

function previousTarget(a: Extract<Action, { kind: 'SetRoute' }>): string {
  const p = a.previous!;
  // A natbeat NAT by its instance id (routes often name only its interface).
  const id = a.previousInstanceId ?? p.instanceId ?? p.networkInterfaceId ?? p.natGatewayId ?? p.gatewayId ?? 'unknown';
  return p.state === 'blackhole' ? `${id} (blackhole)` : id;
}
