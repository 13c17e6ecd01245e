/** cdk.json opts in to the feature flags the installed aws-cdk-lib recommends (what `cdk init` writes). */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('cdk.json', () => {
  it('sets every feature flag aws-cdk-lib recommends, to the recommended value', () => {
    const recommended = createRequire(import.meta.url)('aws-cdk-lib/recommended-feature-flags.json') as Record<string, unknown>;
    const { context } = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    expect(Object.fromEntries(Object.keys(recommended).map((flag) => [flag, context[flag]]))).toEqual(recommended);
  });
});
