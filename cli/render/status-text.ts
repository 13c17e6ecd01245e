/** The terminal rendering of `natbeat status`. */
import type { AlertView, FleetView, NatView, RouteView } from '../fleet-view';
import type { Style } from './style';
import { renderTable } from './table';

export function renderStatus(view: FleetView, style: Style): string {
  const out: string[] = [];
  const alertWord = view.alerts.length === 0 ? style('green', 'no alerts') : style(['red', 'bold'], `${view.alerts.length} alert(s)`);
  out.push(`${style('bold', 'natbeat status')} · observed ${view.observedAt} · ${view.groups.length} group(s) · ${alertWord}`);

  for (const group of view.groups) {
    out.push('', `${style('bold', `Group ${group.name}`)} · ${group.vpcIds.join(', ') || 'VPC unknown'}`);
    const nats = group.zones.flatMap((z) => z.nats);
    out.push('', '  NATs');
    out.push(
      nats.length === 0
        ? `  ${style('red', '(no instances in the group)')}`
        : renderTable(
            [
              { header: 'AZ' },
              { header: 'INSTANCE' },
              { header: 'STATE' },
              { header: 'VERDICT' },
              { header: 'LAST BEAT' },
              { header: 'SRC/DST CHECK' },
              { header: 'ELASTIC IP' },
              { header: 'TABLES', right: true },
              { header: 'WHY' },
            ],
            nats.map((n) => natRow(n, style)),
            { indent: '  ', header: (h) => style('dim', h) },
          ),
    );
    const tables = group.zones.flatMap((z) => z.routeTables);
    out.push('', '  Private route tables');
    out.push(
      tables.length === 0
        ? `  ${style('yellow', '(none found with the route table tag in this VPC)')}`
        : renderTable(
            [{ header: 'AZ' }, { header: 'ROUTE TABLE' }, { header: '0.0.0.0/0 →' }, { header: 'VIA' }, { header: 'NEXT RUN' }],
            tables.map((t) => routeRow(t, style)),
            { indent: '  ', header: (h) => style('dim', h) },
          ),
    );
  }

  out.push('', ...renderAlerts(view.alerts, style));
  if (view.pendingActions > 0) {
    out.push('', style('yellow', `${view.pendingActions} change(s) pending: the controller has not made them yet. See natbeat plan.`));
  }
  for (const note of view.notes) out.push(style('dim', `note: ${note}`));
  return out.join('\n') + '\n';
}

export function renderAlerts(alerts: AlertView[], style: Style): string[] {
  if (alerts.length === 0) return [style('green', 'No alerts: the controller would not page.')];
  return [
    style(['red', 'bold'], `Alerts (${alerts.length}): the controller would page`),
    ...alerts.map((a) => `  ${style('red', '✗')} ${style('bold', a.kind)}  ${a.message}`),
  ];
}

const VERDICT_STYLE: Record<NatView['verdict'], Parameters<Style>[0]> = {
  healthy: 'green',
  booting: 'yellow',
  failing: 'red',
  silent: 'red',
  unreachable: 'red',
  leaving: 'dim',
  unhealthy: 'yellow',
};

function natRow(n: NatView, style: Style): string[] {
  const state = [n.lifecycleState, n.healthStatus, n.ec2State && n.ec2State !== 'running' ? `EC2 ${n.ec2State}` : undefined]
    .filter(Boolean)
    .join('/');
  const beat = n.lastBeat
    ? n.lastBeat.value >= 1
      ? `${n.lastBeat.ageSeconds} s ago`
      : style('red', `${n.lastBeat.ageSeconds} s ago FAIL`)
    : style('dim', 'none');
  const check = n.sourceDestCheck === undefined ? '?' : n.sourceDestCheck ? style('red', 'ON (must be off)') : 'off';
  const eip = n.elasticIp === undefined ? '?' : n.elasticIp === null ? '-' : (n.elasticIp.publicIp ?? n.elasticIp.allocationId ?? '?');
  return [
    n.availabilityZone,
    n.instanceId,
    state,
    style(VERDICT_STYLE[n.verdict], n.verdict),
    beat,
    check,
    eip,
    String(n.routeTableIds.length),
    n.reason,
  ];
}

const VIA_STYLE: Record<RouteView['via'], Parameters<Style>[0]> = {
  'same-az': 'green',
  'cross-az': 'yellow',
  blackhole: 'red',
  'no-route': 'red',
  'nat-gateway': 'cyan',
  gateway: 'yellow',
  unmanaged: 'yellow',
};

function routeRow(t: RouteView, style: Style): string[] {
  // The NAT's instance id says more than its interface id; --json has both.
  const target = t.natInstanceId ?? t.target ?? '-';
  const via = t.natVerdict && t.natVerdict !== 'healthy' && t.via !== 'blackhole' ? `${t.via} (NAT ${t.natVerdict})` : t.via;
  const next = t.pending ? style('yellow', `→ ${t.pending.instanceId}: ${t.pending.reason}`) : t.outcome.serving === 'none' ? style('red', t.outcome.reason) : 'keep';
  return [t.availabilityZones.join(',') || '-', t.routeTableId, target, style(VIA_STYLE[t.via], via), next];
}
