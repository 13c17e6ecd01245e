/**
 * Shared builders for the infra tests. Bundling (esbuild, local) is slow-ish, so only the test
 * that checks the bundles turns it on; the others skip it with the standard CDK context key.
 */
import { App } from 'aws-cdk-lib';
import { ExampleStack, type ExampleStackProps } from '../../infra/lib/example-stack';

export const REGION = 'us-east-1';
export const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
export const GROUP = 'test-nat';

export interface BuildOptions {
  /** Run the real esbuild bundling of the Lambdas and the agent. @default false */
  readonly bundle?: boolean;
  readonly props?: Partial<ExampleStackProps>;
}

export function buildExample(options: BuildOptions = {}) {
  const app = new App({
    // An empty list of bundling stacks skips every asset bundling step.
    context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new ExampleStack(app, 'Example', {
    env: { region: REGION },
    name: 'test',
    availabilityZones: ZONES,
    ...options.props,
  });
  return { app, stack };
}
