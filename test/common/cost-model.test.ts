import { describe, expect, it } from 'vitest';
import { CostInputError, monthlyCost, PRICES } from '../../common/cost-model';

const line = (report: ReturnType<typeof monthlyCost>, startsWith: string) => {
  const found = report.lines.find((l) => l.item.startsWith(startsWith));
  if (!found) throw new Error(`no line starting with "${startsWith}"`);
  return found;
};

/** Dashboard ($3), KMS key ($1) and its two paid rotations ($2), 100 notifications (KMS requests, SNS publishes and emails). */
const ALARM_TOPIC_SIDE = 3 + 1 + 2 + 100 * (0.03 / 10_000) + 100 * (0.5 / 1e6 + 2 / 100_000);

describe('Function: monthlyCost', () => {
  it('counts one PutMetricData per NAT per heartbeat period (10 s over a 30-day month = 259,200 requests)', () => {
    const r = monthlyCost({ azs: 1, hoursPerMonth: 720, heartbeatPeriodSeconds: 10 });
    const put = line(r, 'Heartbeat PutMetricData');
    expect(put.quantity).toBe(259_200);
    expect(put.monthlyUsd).toBeCloseTo(2.592, 6);
  });

  it('bills a month of 730 hours by default, like the AWS pricing calculator', () => {
    const r = monthlyCost({ azs: 1 });
    expect(line(r, 'Heartbeat PutMetricData').quantity).toBe(262_800); // 730 × 3600 / 10
    expect(line(r, 'NAT Gateway').monthlyUsd).toBeCloseTo(32.85, 6); // 730 × 0.045
  });

  it('scales heartbeat requests with NATs and inversely with the period', () => {
    const r = monthlyCost({ azs: 3, natsPerAz: 2, heartbeatPeriodSeconds: 30, hoursPerMonth: 720 });
    // 6 NATs × 2,592,000 s / 30 s
    expect(line(r, 'Heartbeat PutMetricData').quantity).toBe(518_400);
  });

  it('reads one heartbeat metric per NAT on every scheduled and replacement-triggered reconcile', () => {
    const r = monthlyCost({ azs: 2, replacementsPerNatMonth: 2, extraReconcilesPerReplacement: 4, extraReconcilesPerMonth: 10 });
    // reconcile runs = 730 × 60 + 2 NATs × 2 × 4 + 10 = 43,826; metrics = runs × 2 NATs;
    // Lambda requests add the lifecycle runs, 2 per replacement: 2 NATs × 2 × 2 = 8
    expect(line(r, 'Lambda requests').quantity).toBe(43_834);
    expect(line(r, 'GetMetricData').quantity).toBe(87_652);
    expect(line(r, 'GetMetricData').monthlyUsd).toBeCloseTo(0.87652, 8);
  });

  it('prices the alarms the construct creates: per AZ 1 high-resolution and 1 standard, 8 standard metrics fleet-wide', () => {
    const r = monthlyCost({ azs: 3 });
    expect(line(r, 'High-resolution alarms').quantity).toBe(3);
    expect(line(r, 'High-resolution alarms').monthlyUsd).toBeCloseTo(0.9, 8); // 3 × $0.30
    expect(line(r, 'Standard alarms per zone').quantity).toBe(3);
    expect(line(r, 'Standard alarms per zone').monthlyUsd).toBeCloseTo(0.3, 8); // 3 × $0.10
    expect(line(r, 'Standard alarms (fleet-wide)').monthlyUsd).toBeCloseTo(0.8, 8);
    // One more AZ adds $0.30 + $0.10 of alarms.
    const alarms = (x: ReturnType<typeof monthlyCost>) =>
      x.lines.filter((l) => /^(High-resolution|Standard) alarms/.test(l.item)).reduce((sum, l) => sum + l.monthlyUsd, 0);
    expect(alarms(monthlyCost({ azs: 4 })) - alarms(r)).toBeCloseTo(0.4, 8);
  });

  it('takes the per-zone alarm counts as inputs and rejects negative ones', () => {
    const r = monthlyCost({ azs: 2, highResolutionAlarmsPerAz: 2, standardAlarmsPerAz: 3 });
    expect(line(r, 'High-resolution alarms').monthlyUsd).toBeCloseTo(1.2, 8); // 2 AZs × 2 × $0.30
    expect(line(r, 'Standard alarms per zone').monthlyUsd).toBeCloseTo(0.6, 8); // 2 AZs × 3 × $0.10
    expect(() => monthlyCost({ azs: 2, standardAlarmsPerAz: -1 })).toThrow(/standardAlarmsPerAz/);
  });

  it('splits fleet-wide items evenly across AZs', () => {
    const opts = { replacementsPerNatMonth: 0, logBytesPerReconcile: 0 };
    const one = monthlyCost({ azs: 1, ...opts });
    const four = monthlyCost({ azs: 4, ...opts });
    // standard alarms + controller EMF metrics + Lambda requests and GB-s of 43,800 runs + the
    // alarm topic's side (dashboard, KMS key and rotations, notifications)
    const fleetWide = 8 * 0.1 + 1.5 * 0.3 + 43_800 * 0.2e-6 + 43_800 * 0.25 * 0.4 * 0.0000133334 + ALARM_TOPIC_SIDE;
    expect(one.controllerPerAzMonthUsd - four.controllerPerAzMonthUsd).toBeCloseTo(fleetWide * (1 - 1 / 4), 8);
  });

  it('computes the per-AZ totals at 3 AZs from the line items (hand-computed)', () => {
    const r = monthlyCost({ azs: 3, replacementsPerNatMonth: 0, lambdaAvgMs: 400, logBytesPerReconcile: 0 });
    const runs = 43_800;
    const controller =
      3 * 262_800 * 0.00001 + // PutMetricData
      3 * 0.3 + // per-instance metrics
      3 * 0.3 + // per-zone metrics
      runs * 3 * 0.00001 + // GetMetricData
      3 * 0.3 + // high-resolution alarms: one trigger per AZ
      3 * 0.1 + // standard alarms: one zone-silent page per AZ
      8 * 0.1 + // standard alarms, fleet-wide
      1.5 * 0.3 + // controller metrics (ReconcileRuns + sparse counts)
      runs * 0.2e-6 + // Lambda requests
      runs * 0.25 * 0.4 * 0.0000133334 + // Lambda GB-s
      ALARM_TOPIC_SIDE;
    expect(r.controllerPerAzMonthUsd).toBeCloseTo(controller / 3, 8);
    expect(r.natInstancePerAzMonthUsd).toBeCloseTo(730 * 0.0042 + 730 * 0.005 + 8 * 0.08, 8);
    expect(r.natGatewayPerAzMonthUsd).toBeCloseTo(730 * 0.045 + 730 * 0.005, 8);
    expect(r.savingsPerAzMonthUsd).toBeCloseTo(r.natGatewayPerAzMonthUsd - r.natbeatPerAzMonthUsd, 8);
  });

  it('computes the controller per AZ at 3 AZs with every default (hand-computed)', () => {
    const r = monthlyCost({ azs: 3 });
    // reconcile runs = 730 × 60 scheduled + 3 NATs × 30/14 replacements × 4 runs each;
    // Lambda runs add 2 lifecycle runs per replacement
    const runs = 43_800 + (3 * 30 * 4) / 14;
    const lambdaRuns = runs + (3 * 30 * 2) / 14;
    const logGb = (lambdaRuns * 2048) / 1e9;
    const controller =
      3 * 262_800 * 0.00001 + // PutMetricData: 7.884
      3 * (1 + 30 / 14 / 730) * 0.3 + // per-instance metrics with 1 h overlap per replacement
      3 * 0.3 + // per-zone metrics
      runs * 3 * 0.00001 + // GetMetricData
      3 * 0.3 + // one high-resolution alarm per AZ
      3 * 0.1 + // one standard zone-silent alarm per AZ
      8 * 0.1 + // fleet-wide standard alarm metrics
      1.5 * 0.3 + // controller EMF metrics
      logGb * 0.5 + // logs ingested
      logGb * 0.03 + // logs stored (30 days)
      lambdaRuns * 0.2e-6 + // Lambda requests
      lambdaRuns * 0.25 * 0.4 * 0.0000133334 + // Lambda GB-s
      ALARM_TOPIC_SIDE;
    expect(r.controllerPerAzMonthUsd).toBeCloseTo(controller / 3, 8);
    // ≈ $6.52: the 10 s heartbeat's PutMetricData ($2.63) dominates; the dashboard and the KMS
    // key with its rotations add $2 per AZ at 3 AZs.
    expect(r.controllerPerAzMonthUsd).toBeGreaterThan(6.51);
    expect(r.controllerPerAzMonthUsd).toBeLessThan(6.53);
  });

  it('charges a NAT Gateway for data processed and a NAT instance not', () => {
    const without = monthlyCost({ azs: 2 });
    const withData = monthlyCost({ azs: 2, dataGbPerAzMonth: 100 });
    expect(withData.natGatewayPerAzMonthUsd - without.natGatewayPerAzMonthUsd).toBeCloseTo(100 * PRICES.natGatewayPerGb, 8);
    expect(withData.natInstancePerAzMonthUsd).toBe(without.natInstancePerAzMonthUsd);
  });

  it('bills the overlap hours of a replaced NAT as a second per-instance metric', () => {
    const r = monthlyCost({ azs: 1, replacementsPerNatMonth: 73, replacementOverlapHours: 1 });
    // 1 + 73 × 1 / 730 = 1.1 metric-months
    expect(line(r, 'Heartbeat custom metrics, per instance').quantity).toBeCloseTo(1.1, 10);
  });

  it('lists its assumptions and a source for every line', () => {
    const r = monthlyCost({ azs: 2 });
    expect(r.assumptions.some((a) => a.includes('730 h'))).toBe(true);
    for (const l of r.lines) expect(l.source.length).toBeGreaterThan(10);
  });

  it.each([
    [{ azs: 0 }, /azs must be a whole number ≥ 1/],
    [{ azs: 1.5 }, /azs must be a whole number/],
    [{ azs: 2, heartbeatPeriodSeconds: 0 }, /heartbeatPeriodSeconds must be a whole number from 1 to 300 \(got 0\)/],
    // The controller's own range (NATBEAT_HEARTBEAT_PERIOD_SECONDS): no cost for a period it refuses.
    [{ azs: 2, heartbeatPeriodSeconds: 301 }, /heartbeatPeriodSeconds must be a whole number from 1 to 300 \(got 301\)/],
    [{ azs: 2, dataGbPerAzMonth: -1 }, /dataGbPerAzMonth/],
    [{ azs: 2, lambdaMemoryMb: 64 }, /lambdaMemoryMb must be a whole number ≥ 128/],
  ])('rejects %o with a message naming the input', (inputs, message) => {
    expect(() => monthlyCost(inputs)).toThrow(CostInputError);
    expect(() => monthlyCost(inputs)).toThrow(message);
  });
});
