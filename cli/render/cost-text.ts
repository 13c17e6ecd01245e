/** The terminal rendering of `natbeat cost`. */
import type { CostReport } from '../../common/cost-model';
import type { Style } from './style';
import { renderTable } from './table';

export function renderCost(r: CostReport, style: Style): string {
  const i = r.inputs;
  const usd = (x: number) => `$${x.toFixed(2)}`;
  const out: string[] = [
    `${style('bold', 'natbeat cost')} · ${i.azs} AZ(s) · ${i.natsPerAz} NAT per AZ · heartbeat every ${i.heartbeatPeriodSeconds} s · per month of ${i.hoursPerMonth} h`,
    '',
    renderTable(
      [{ header: 'PER AZ-MONTH' }, { header: 'USD', right: true }],
      [
        ['natbeat controller (intake, report log, Lambda, alarms)', usd(r.controllerPerAzMonthUsd)],
        ['NAT instance(s) (instance, public IPv4, volume)', usd(r.natInstancePerAzMonthUsd)],
        [style('bold', 'natbeat total'), style('bold', usd(r.natbeatPerAzMonthUsd))],
        [style('bold', 'NAT Gateway (hourly, public IPv4, data)'), style('bold', usd(r.natGatewayPerAzMonthUsd))],
        [
          'difference',
          style(r.savingsPerAzMonthUsd >= 0 ? 'green' : 'red', `${usd(r.savingsPerAzMonthUsd)} (${Math.round((r.savingsPerAzMonthUsd / r.natGatewayPerAzMonthUsd) * 100)} %)`),
        ],
      ],
      { header: (h) => style('dim', h) },
    ),
    '',
    style('bold', 'Line items (whole fleet, per month)'),
    renderTable(
      [{ header: 'FOR' }, { header: 'SCOPE' }, { header: 'ITEM' }, { header: 'QUANTITY', right: true }, { header: 'UNIT PRICE', right: true }, { header: 'USD', right: true }],
      r.lines.map((l) => [l.category, l.scope, l.item, `${quantity(l.quantity)} ${l.unit}`, price(l.unitPrice), l.monthlyUsd.toFixed(4)]),
      { indent: '  ', header: (h) => style('dim', h) },
    ),
    '',
    style('bold', 'Assumptions'),
    ...r.assumptions.map((a) => `  - ${a}`),
    '',
    style('bold', 'Sources'),
    ...[...new Set(r.lines.map((l) => l.source))].map((s) => `  - ${s}`),
  ];
  return out.join('\n') + '\n';
}

function quantity(x: number): string {
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return x < 10 ? x.toFixed(3) : Math.round(x).toLocaleString('en-US');
}

/** A unit price without exponent notation or float noise: $0.0000002, $0.045. */
function price(x: number): string {
  if (x === 0) return '$0';
  const decimals = Math.min(12, Math.max(2, 5 - Math.floor(Math.log10(x))));
  return `$${x.toFixed(decimals).replace(/(\.\d*?[1-9])0+$/, '$1').replace(/\.0+$/, '')}`;
}
