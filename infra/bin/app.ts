/**
 * The example app: `npx cdk synth` / `npx cdk deploy`. Settings come from CDK context
 * (cdk.json or `-c natbeat:name=…`); nothing is looked up in an AWS account at synth time.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ExampleStack, exampleSettingsFromContext } from '../lib/example-stack';

const app = new App();
try {
  const settings = exampleSettingsFromContext((key) => app.node.tryGetContext(key), process.env);
  new ExampleStack(app, 'NatBeatExample', {
    ...settings.props,
    stackName: settings.stackName,
    // Region only: the account comes from the credentials at deploy time, and the explicit
    // Availability Zones mean no context lookup is needed to synthesize.
    env: { region: settings.region },
    description: 'natbeat: highly available NAT instances with a serverless health controller',
  });
} catch (error) {
  // A bad setting is the user's to fix: the message names it; a stack trace would only bury it.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`natbeat: ${message.replace(/^NatBeat: /, '')}\n`);
  if (process.env.NATBEAT_DEBUG && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  // Exit before the app synthesizes what it has so far.
  process.exit(1);
}
// Every AwsSolutions finding fails the synth unless acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
