import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { monthlyCost } from '../../common/cost-model';
import { FREE_RESOURCE_TYPES } from '../../common/cost-prices';
import { buildExample } from '../infra/fixtures';

/** Resource types the construct itself creates (the example app's VPC and flow log are not natbeat's). */
function constructResourceTypes(): string[] {
  const { stack } = buildExample();
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>;
  return [...new Set(Object.entries(resources).filter(([id]) => id.startsWith('NatBeat')).map(([, r]) => r.Type))].sort();
}

describe('Cost model against the synthesized construct', () => {
  const types = constructResourceTypes();
  const report = monthlyCost({ azs: 3 });
  const billed = new Set(report.lines.flatMap((l) => l.resourceTypes ?? []));

  it('finds the construct’s resources in the template', () => {
    expect(types).toEqual(expect.arrayContaining(['AWS::CloudWatch::Alarm', 'AWS::Lambda::Function', 'AWS::KMS::Key']));
  });

  it('has a cost line, or a stated reason it is free, for every resource type the construct creates', () => {
    const unaccounted = types.filter((t) => !billed.has(t) && !(t in FREE_RESOURCE_TYPES));
    expect(unaccounted).toEqual([]);
  });

  it('marks every line per-AZ or fleet-wide and gives its source', () => {
    for (const line of report.lines) {
      expect(['per-AZ', 'fleet-wide']).toContain(line.scope);
      expect(line.source).toMatch(/\[(AWS|3P)/);
    }
  });

  it('bills the dashboard (beyond an account’s 3 free ones) and the KMS key with its two paid rotations', () => {
    const item = (start: string) => report.lines.find((l) => l.item.startsWith(start))!;
    expect(item('Dashboard').monthlyUsd).toBeCloseTo(3, 8);
    expect(item('KMS key of the alarm topic').monthlyUsd).toBeCloseTo(1, 8);
    expect(item('KMS key rotations').monthlyUsd).toBeCloseTo(2, 8);
    // A fourth rotation costs nothing more; an account with free dashboards pays none.
    const later = monthlyCost({ azs: 3, kmsKeyRotations: 4, billedDashboards: 0 });
    expect(later.controllerMonthUsd).toBeCloseTo(report.controllerMonthUsd - 3, 6);
  });
});
