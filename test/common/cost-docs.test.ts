/**
 * docs/cost.md's figures come from the cost model: its trade-off table (one row per heartbeat
 * period) and the headline figure are recomputed here, so the page cannot drift from the model.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { monthlyCost } from '../../common/cost-model';

const page = readFileSync(new URL('../../docs/cost.md', import.meta.url), 'utf8');
const usd = (x: number) => `$${x.toFixed(2)}`;
const perNat = (azs: number, heartbeatPeriodSeconds: number) =>
  monthlyCost({ azs, heartbeatPeriodSeconds }).lines.filter((l) => l.category === 'controller' && l.scope === 'per-AZ').reduce((sum, l) => sum + l.monthlyUsd, 0) / azs;

describe('Document: docs/cost.md', () => {
  const rows = [...page.matchAll(/^\| \**(\d+) s(?: \(default\))?\** \| (.+) \|$/gm)].map((m) => ({ period: Number(m[1]), cells: m[2]!.split(' | ').map((c) => c.replace(/\*/g, '')) }));

  it('has a trade-off row for the 2, 5, 10 and 30 s heartbeat', () => {
    expect(rows.map((r) => r.period)).toEqual([2, 5, 10, 30]);
  });

  it.each([2, 5, 10, 30])('prints the model’s controller cost per AZ-month at a %i s heartbeat', (period) => {
    const [threeAzs, twoAzs, ofWhichPerNat, withOptions] = rows.find((r) => r.period === period)!.cells;
    expect(threeAzs).toBe(usd(monthlyCost({ azs: 3, heartbeatPeriodSeconds: period }).controllerPerAzMonthUsd));
    expect(twoAzs).toBe(usd(monthlyCost({ azs: 2, heartbeatPeriodSeconds: period }).controllerPerAzMonthUsd));
    expect(ofWhichPerNat).toBe(usd(perNat(3, period)));
    expect(withOptions).toBe(usd(monthlyCost({ azs: 3, heartbeatPeriodSeconds: period, billedDashboards: 1, encryptTopic: true }).controllerPerAzMonthUsd));
  });

  it('states the 3-AZ figure at a 5 s heartbeat, within the $1.50 goal', () => {
    const figure = monthlyCost({ azs: 3, heartbeatPeriodSeconds: 5 }).controllerPerAzMonthUsd;
    expect(figure).toBeLessThanOrEqual(1.5);
    expect(page).toContain(`**${usd(figure)} per AZ-month**`);
    expect(page).toContain(`| **Controller per AZ-month** | | **6.52** | **${figure.toFixed(2)}** | |`);
  });
});
