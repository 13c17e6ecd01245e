import { describe, expect, it } from 'vitest';
import { COST_DEFAULTS, CostInputError, monthlyCost, PRICES } from '../../common/cost-model';
import { DEFAULT_HEARTBEAT_PERIOD_SECONDS } from '../../common/heartbeat';

type Report = ReturnType<typeof monthlyCost>;

const line = (report: Report, startsWith: string) => {
  const found = report.lines.find((l) => l.item.startsWith(startsWith));
  if (!found) throw new Error(`no line starting with "${startsWith}"`);
  return found;
};
const hasLine = (report: Report, startsWith: string) => report.lines.some((l) => l.item.startsWith(startsWith));

/** 100 notifications: SNS publishes and emails (no KMS key by default). */
const NOTIFICATIONS = 100 * (0.5 / 1e6 + 2 / 100_000);
/** The KMS key ($1), its two paid rotations ($2) and a data-key request per notification. */
const KMS_SIDE = 1 + 2 + 100 * (0.03 / 10_000);

describe('Function: monthlyCost', () => {
  it('counts one intake request per NAT per heartbeat period (5 s over a 30-day month = 518,400 requests)', () => {
    const r = monthlyCost({ azs: 1, hoursPerMonth: 720, heartbeatPeriodSeconds: 5 });
    const requests = line(r, 'Intake requests');
    expect(requests.quantity).toBe(518_400);
    expect(requests.monthlyUsd).toBeCloseTo(518_400 * 0.2e-6, 10);
    expect(requests.scope).toBe('per-AZ');
  });

  it('takes the heartbeat period from common/heartbeat.ts unless given', () => {
    expect(COST_DEFAULTS.heartbeatPeriodSeconds).toBe(DEFAULT_HEARTBEAT_PERIOD_SECONDS);
    const r = monthlyCost({ azs: 1 });
    expect(line(r, 'Intake requests').quantity).toBe((730 * 3600) / DEFAULT_HEARTBEAT_PERIOD_SECONDS);
    expect(line(r, 'NAT Gateway').monthlyUsd).toBeCloseTo(32.85, 6); // 730 h × 0.045, like the AWS calculator
  });

  it('writes one report log item (1 write unit, $0.625 per million) per beat, scaling with NATs and inversely with the period', () => {
    const r = monthlyCost({ azs: 3, natsPerAz: 2, heartbeatPeriodSeconds: 30, hoursPerMonth: 720, replacementsPerNatMonth: 0 });
    // 6 NATs × 2,592,000 s / 30 s
    const writes = line(r, 'Report log writes');
    expect(writes.quantity).toBe(518_400);
    expect(writes.monthlyUsd).toBeCloseTo(518_400 * 0.625e-6, 10);
    expect(writes.unitPrice).toBe(PRICES.dynamoDbPerMillionWriteUnits / 1e6);
    // An item over 1 KB takes 2 write units.
    expect(monthlyCost({ azs: 3, natsPerAz: 2, heartbeatPeriodSeconds: 30, hoursPerMonth: 720, replacementsPerNatMonth: 0, reportItemBytes: 1500 }).lines.find((l) => l.item.startsWith('Report log writes'))!.quantity).toBe(2 * 518_400);
  });

  it('adds the witness items a replaced NAT draws from each peer while it is unreachable', () => {
    const base = { azs: 3, heartbeatPeriodSeconds: 5, hoursPerMonth: 720 } as const;
    const without = line(monthlyCost({ ...base, replacementsPerNatMonth: 0 }), 'Report log writes').quantity;
    const withOne = line(monthlyCost({ ...base, replacementsPerNatMonth: 1, unreachableSecondsPerReplacement: 600 }), 'Report log writes').quantity;
    // 3 NATs × 1 replacement × 2 witnesses × 600 s / 5 s
    expect(withOne - without).toBe(720);
  });

  it('bills the intake’s compute per beat at its memory and duration', () => {
    const r = monthlyCost({ azs: 2, heartbeatPeriodSeconds: 10, hoursPerMonth: 720, intakeMemoryMb: 512, intakeAvgMs: 20 });
    // 2 NATs × 259,200 beats × 0.5 GB × 0.02 s
    expect(line(r, 'Intake duration').quantity).toBeCloseTo(5184, 8);
    expect(line(r, 'Intake duration').monthlyUsd).toBeCloseTo(5184 * PRICES.lambdaArmGbSecond, 10);
  });

  it('reads each NAT’s beats and witness items with strongly consistent Queries on every reconcile run', () => {
    const r = monthlyCost({ azs: 2, heartbeatPeriodSeconds: 5, replacementsPerNatMonth: 2, extraReconcilesPerReplacement: 4, extraReconcilesPerMonth: 10 });
    // reconcile runs = 730 × 60 + 2 NATs × 2 × 4 + 10 = 43,826; Lambda requests add the
    // lifecycle runs, 2 per replacement: 2 NATs × 2 × 2 = 8
    expect(line(r, 'Lambda requests').quantity).toBe(43_834);
    // 25 s + 4 × 5 s = 45 s of beats = 9 items × 300 B: one 4 KB unit; the witness Query one more.
    expect(line(r, 'Report log Queries').quantity).toBe(43_826 * 2 * 2);
    expect(line(r, 'Report log Queries').monthlyUsd).toBeCloseTo(43_826 * 4 * 0.125e-6, 10);
    // At 1 s, 29 beats × 300 B = 8.7 KB: 3 units for the beats, 1 for the witnesses.
    const fast = monthlyCost({ azs: 2, heartbeatPeriodSeconds: 1, replacementsPerNatMonth: 2, extraReconcilesPerReplacement: 4, extraReconcilesPerMonth: 10 });
    expect(line(fast, 'Report log Queries').quantity).toBe(43_826 * 2 * 4);
  });

  it('bills report log storage for the TTL plus DynamoDB’s deletion lag, and nothing for the deletes', () => {
    const r = monthlyCost({ azs: 1, heartbeatPeriodSeconds: 5, ttlDeletionLagHours: 71, reportItemBytes: 300 });
    // (1 + 71) h × 720 beats/h × (300 + 100 overhead) B
    expect(line(r, 'Report log storage').quantity).toBeCloseTo((72 * 720 * 400) / 1e9, 12);
    expect(line(r, 'Report log storage').monthlyUsd).toBeLessThan(0.01);
  });

  it('logs nothing per beat (no platform lines, accepted beats below the log level), and bills what a louder intake would log', () => {
    expect(line(monthlyCost({ azs: 3 }), 'Intake logs').monthlyUsd).toBe(0);
    const loud = monthlyCost({ azs: 1, heartbeatPeriodSeconds: 5, hoursPerMonth: 720, intakeLogBytesPerBeat: 1000, logRetentionDays: 30 });
    // 518,400 beats × 1 KB = 0.5184 GB ingested ($0.50) and stored a month ($0.03)
    expect(line(loud, 'Intake logs').monthlyUsd).toBeCloseTo(0.5184 * 0.53, 10);
  });

  it('has no CloudWatch heartbeat line left: no PutMetricData, GetMetricData, heartbeat metric or zone alarm', () => {
    const r = monthlyCost({ azs: 3 });
    const gone = ['Heartbeat PutMetricData', 'Heartbeat custom metrics', 'GetMetricData', 'High-resolution alarms', 'Standard alarms per zone'];
    expect(gone.filter((item) => hasLine(r, item))).toEqual([]);
    expect(r.lines.filter((l) => /PutMetricData|GetMetricData/.test(`${l.item} ${l.source}`))).toEqual([]);
  });

  it('prices the paging alarms the construct creates: 9 standard alarm metrics, fleet-wide', () => {
    const r = monthlyCost({ azs: 3 });
    expect(line(r, 'Standard alarms (fleet-wide').monthlyUsd).toBeCloseTo(0.9, 8);
    // One more AZ adds no alarm.
    const alarms = (x: Report) => x.lines.filter((l) => /alarms/.test(l.item)).reduce((sum, l) => sum + l.monthlyUsd, 0);
    expect(alarms(monthlyCost({ azs: 4 }))).toBeCloseTo(alarms(r), 10);
  });

  it('bills per-zone alarms of your own when given, and rejects negative counts', () => {
    const r = monthlyCost({ azs: 2, highResolutionAlarmsPerAz: 2, standardAlarmsPerAz: 3 });
    expect(line(r, 'High-resolution alarms per zone').monthlyUsd).toBeCloseTo(1.2, 8); // 2 AZs × 2 × $0.30
    expect(line(r, 'Standard alarms per zone').monthlyUsd).toBeCloseTo(0.6, 8); // 2 AZs × 3 × $0.10
    expect(() => monthlyCost({ azs: 2, standardAlarmsPerAz: -1 })).toThrow(/standardAlarmsPerAz/);
  });

  it('bills the KMS key, its two paid rotations and its requests only with encryptTopic', () => {
    const plain = monthlyCost({ azs: 3 });
    expect(plain.lines.filter((l) => l.item.startsWith('KMS'))).toEqual([]);
    const encrypted = monthlyCost({ azs: 3, encryptTopic: true });
    expect(line(encrypted, 'KMS key of the alarm topic').monthlyUsd).toBeCloseTo(1, 8);
    expect(line(encrypted, 'KMS key rotations').monthlyUsd).toBeCloseTo(2, 8);
    expect(encrypted.controllerMonthUsd - plain.controllerMonthUsd).toBeCloseTo(KMS_SIDE, 8);
    // A key in its first year has had no rotation yet; a fourth rotation costs nothing more.
    expect(monthlyCost({ azs: 3, encryptTopic: true, kmsKeyRotations: 0 }).controllerMonthUsd).toBeCloseTo(encrypted.controllerMonthUsd - 2, 8);
    expect(monthlyCost({ azs: 3, encryptTopic: true, kmsKeyRotations: 4 }).controllerMonthUsd).toBeCloseTo(encrypted.controllerMonthUsd, 8);
  });

  it('bills no dashboard by default (the construct creates none) and $3 for each billed one', () => {
    expect(line(monthlyCost({ azs: 3 }), 'Dashboard').monthlyUsd).toBe(0);
    expect(line(monthlyCost({ azs: 3, billedDashboards: 1 }), 'Dashboard').monthlyUsd).toBeCloseTo(3, 8);
  });

  it('splits fleet-wide items evenly across AZs', () => {
    const opts = { replacementsPerNatMonth: 0, logBytesPerReconcile: 0 };
    const one = monthlyCost({ azs: 1, ...opts });
    const four = monthlyCost({ azs: 4, ...opts });
    // standard alarms + controller EMF metrics + Lambda requests and GB-s of 43,800 runs + notifications
    const fleetWide = 9 * 0.1 + 1.5 * 0.3 + 43_800 * 0.2e-6 + 43_800 * 0.25 * 0.4 * 0.0000133334 + NOTIFICATIONS;
    expect(one.controllerPerAzMonthUsd - four.controllerPerAzMonthUsd).toBeCloseTo(fleetWide * (1 - 1 / 4), 8);
  });

  it('computes the controller per AZ at 3 AZs and a 5 s heartbeat with every default (hand-computed)', () => {
    const r = monthlyCost({ azs: 3, heartbeatPeriodSeconds: 5 });
    const beats = 3 * 525_600; // 3 NATs × 730 h × 3600 s / 5 s
    const replacements = (3 * 30) / 14;
    // reconcile runs = 730 × 60 scheduled + 4 per replacement; Lambda runs add 2 lifecycle runs each
    const runs = 43_800 + replacements * 4;
    const lambdaRuns = runs + replacements * 2;
    const witnessItems = replacements * 2 * 120; // 2 peers name a leaving NAT in every beat for 600 s
    const storedGb = (3 * 73 * 720 * 400) / 1e9; // (1 h TTL + 72 h lag) of beats at 400 B each
    const logGb = (lambdaRuns * 2048) / 1e9;
    const controller =
      beats * 0.2e-6 + // intake requests
      beats * 0.25 * 0.05 * 0.0000133334 + // intake GB-s: 256 MB × 50 ms
      (beats + witnessItems) * 0.625e-6 + // report log writes
      runs * 3 * 2 * 0.125e-6 + // Queries: 2 per NAT per run, 1 read unit each
      storedGb * 0.25 + // report log storage
      (beats * 3000 * 0.01) / 1e9 + // beats on the wire within the Region
      9 * 0.1 + // fleet-wide standard alarm metrics
      1.5 * 0.3 + // controller EMF metrics
      logGb * 0.5 + // reconcile logs ingested
      logGb * 0.03 + // reconcile logs stored (30 days)
      lambdaRuns * 0.2e-6 + // reconcile Lambda requests
      lambdaRuns * 0.25 * 0.4 * 0.0000133334 + // reconcile Lambda GB-s
      NOTIFICATIONS;
    expect(r.controllerPerAzMonthUsd).toBeCloseTo(controller / 3, 8);
    // ≈ $1.04: report log writes ($0.33), alarms ($0.30), intake requests and compute ($0.19)
    // and the controller's metrics ($0.15) are most of it.
    expect(r.controllerPerAzMonthUsd).toBeGreaterThan(1.03);
    expect(r.controllerPerAzMonthUsd).toBeLessThan(1.05);
    // With the dashboard billed and the topic encrypted, each adds $1 per AZ at 3 AZs.
    const everything = monthlyCost({ azs: 3, heartbeatPeriodSeconds: 5, billedDashboards: 1, encryptTopic: true });
    expect(everything.controllerPerAzMonthUsd - r.controllerPerAzMonthUsd).toBeCloseTo((3 + KMS_SIDE) / 3, 8);
  });

  it('computes the NAT instance and the NAT Gateway per AZ', () => {
    const r = monthlyCost({ azs: 3 });
    expect(r.natInstancePerAzMonthUsd).toBeCloseTo(730 * 0.0042 + 730 * 0.005 + 8 * 0.08, 8);
    expect(r.natGatewayPerAzMonthUsd).toBeCloseTo(730 * 0.045 + 730 * 0.005, 8);
    expect(r.savingsPerAzMonthUsd).toBeCloseTo(r.natGatewayPerAzMonthUsd - r.natbeatPerAzMonthUsd, 8);
  });

  it('charges a NAT Gateway for data processed and a NAT instance not', () => {
    const without = monthlyCost({ azs: 2 });
    const withData = monthlyCost({ azs: 2, dataGbPerAzMonth: 100 });
    expect(withData.natGatewayPerAzMonthUsd - without.natGatewayPerAzMonthUsd).toBeCloseTo(100 * PRICES.natGatewayPerGb, 8);
    expect(withData.natInstancePerAzMonthUsd).toBe(without.natInstancePerAzMonthUsd);
  });

  it('lists its assumptions and a source for every line', () => {
    const r = monthlyCost({ azs: 2 });
    expect(r.assumptions.some((a) => a.includes('730 h'))).toBe(true);
    expect(r.assumptions.some((a) => a.includes('TTL'))).toBe(true);
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
    [{ azs: 2, intakeMemoryMb: 64 }, /intakeMemoryMb must be a whole number ≥ 128/],
    [{ azs: 2, reportItemBytes: 0 }, /reportItemBytes must be a whole number from 1 to 409600/],
    [{ azs: 2, intakeAvgMs: -1 }, /intakeAvgMs/],
  ])('rejects %o with a message naming the input', (inputs, message) => {
    expect(() => monthlyCost(inputs)).toThrow(CostInputError);
    expect(() => monthlyCost(inputs)).toThrow(message);
  });
});
