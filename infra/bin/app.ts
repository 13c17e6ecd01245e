/**
 * The example app: `npx cdk synth` / `npx cdk deploy`. Settings come from CDK context
 * (cdk.json or `-c natbeat:name=…`); nothing is looked up in an AWS account at synth time.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleStack, exampleSettingsFromContext } from '../lib/example-stack';

const app = new App();
const settings = exampleSettingsFromContext((key) => app.node.tryGetContext(key), process.env);
new ExampleStack(app, 'NatBeatExample', {
  ...settings.props,
  stackName: settings.stackName,
  // Region only: the account comes from the credentials at deploy time, and the explicit
  // Availability Zones mean no context lookup is needed to synthesize.
  env: { region: settings.region },
  description: 'natbeat: highly available NAT instances with a serverless health controller',
});
// Every AwsSolutions finding fails the synth unless acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
