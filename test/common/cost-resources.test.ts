import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { monthlyCost, type CostInputs } from '../../common/cost-model';
import { FREE_RESOURCE_TYPES } from '../../common/cost-prices';
import type { NatBeatProps } from '../../infra/lib/settings';
import { buildExample } from '../infra/fixtures';

const synthesized = new Map<string, string[]>();

/** Resource types the construct itself creates (the example app's VPC and flow log are not natbeat's). */
function constructResourceTypes(natBeat: Partial<Omit<NatBeatProps, 'vpc'>> = {}): string[] {
  const key = JSON.stringify(natBeat);
  if (!synthesized.has(key)) {
    const { stack } = buildExample({ props: { natBeat } });
    const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>;
    synthesized.set(key, [...new Set(Object.entries(resources).filter(([id]) => id.startsWith('NatBeat')).map(([, r]) => r.Type))].sort());
  }
  return synthesized.get(key)!;
}

/** Resource types the model bills for these inputs. */
function billedTypes(inputs: CostInputs): Set<string> {
  return new Set(monthlyCost(inputs).lines.flatMap((l) => l.resourceTypes ?? []));
}

describe('Cost model against the synthesized construct', { timeout: 60_000 }, () => {
  // The construct's defaults, and every optional resource on (with the model's matching inputs).
  const variants: [string, Partial<Omit<NatBeatProps, 'vpc'>>, CostInputs][] = [
    ['defaults', {}, { azs: 3 }],
    ['dashboard and encrypted topic', { dashboard: true, encryptTopic: true }, { azs: 3, billedDashboards: 1, encryptTopic: true }],
  ];

  it.each(variants)('%s: has a cost line, or a stated reason it is free, for every resource type the construct creates', (_name, props, inputs) => {
    const types = constructResourceTypes(props);
    expect(types).toEqual(expect.arrayContaining(['AWS::CloudWatch::Alarm', 'AWS::Lambda::Function', 'AWS::Lambda::Url', 'AWS::SNS::Topic']));
    const billed = billedTypes(inputs);
    expect(types.filter((t) => !billed.has(t) && !(t in FREE_RESOURCE_TYPES))).toEqual([]);
  });

  it('creates the dashboard and the KMS key only when asked, as the model assumes', () => {
    const defaults = constructResourceTypes();
    expect(defaults).not.toContain('AWS::CloudWatch::Dashboard');
    expect(defaults).not.toContain('AWS::KMS::Key');
    const everything = constructResourceTypes({ dashboard: true, encryptTopic: true });
    expect(everything).toEqual(expect.arrayContaining(['AWS::CloudWatch::Dashboard', 'AWS::KMS::Key']));
    expect(billedTypes({ azs: 3 }).has('AWS::KMS::Key')).toBe(false);
  });

  it('marks every line per-AZ or fleet-wide and gives its source', () => {
    for (const line of monthlyCost({ azs: 3, encryptTopic: true, billedDashboards: 1 }).lines) {
      expect(['per-AZ', 'fleet-wide']).toContain(line.scope);
      expect(line.source).toMatch(/\[(AWS|3P)/);
    }
  });
});
