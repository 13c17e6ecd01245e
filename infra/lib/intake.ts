/**
 * The intake: a small Lambda behind a Function URL with AuthType AWS_IAM, the NATs' only way to
 * the controller. Lambda verifies each request's SigV4 signature; the function accepts only this
 * deployment's NAT role sessions (named after the instance) and wakes the reconcile function with
 * a verified self-report. The NAT role may call the URL and nothing else of the controller.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { controllerServiceName } from '../../common/controller-metrics';
import { INTAKE_ENV } from '../../lambdas/intake/settings';
import type { CodeSource } from './bundles';
import { controllerFunction } from './controller';
import type { Settings } from './settings';

export interface IntakeProps {
  readonly settings: Settings;
  /** Where the intake's bundle comes from: the package's prebuilt one, or built from sources. */
  readonly code: CodeSource;
  readonly logRetention: logs.RetentionDays;
  /** The NATs' role: the only caller the intake accepts. */
  readonly natRole: iam.Role;
  /** The reconcile function the intake wakes. */
  readonly reconcileFunction: lambda.IFunction;
}

export interface Intake {
  readonly function: lambda.Function;
  readonly url: lambda.FunctionUrl;
}

/**
 * At most this many intake invocations at once: a flooding NAT is throttled by Lambda (429) and
 * cannot crowd out the others' reports for long, nor run up the bill.
 */
export const INTAKE_CONCURRENCY = 2;

export function createIntake(scope: Construct, props: IntakeProps): Intake {
  const fn = controllerFunction(scope, 'Intake', {
    code: props.code,
    bundle: 'intake',
    description: 'natbeat: verified NAT self-reports (Function URL, AWS_IAM) → reconcile',
    environment: {
      [INTAKE_ENV.natRoleArn]: props.natRole.roleArn,
      [INTAKE_ENV.reconcileFunction]: props.reconcileFunction.functionArn,
      [INTAKE_ENV.groupNames]: props.settings.groupName,
      POWERTOOLS_SERVICE_NAME: `${controllerServiceName(props.settings.groupName)}-intake`,
      NODE_OPTIONS: '--enable-source-maps',
    },
    logRetention: props.logRetention,
    reservedConcurrentExecutions: INTAKE_CONCURRENCY,
    timeout: Duration.seconds(10),
    // Synchronous (URL) calls only; the agent retries within its cycle.
    retryAttempts: 0,
    maxEventAge: Duration.minutes(1),
  });
  const role = fn.role as iam.Role;
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'CheckReporterIsAGroupMember',
      actions: ['autoscaling:DescribeAutoScalingInstances'],
      resources: ['*'],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'WakeReconcile',
      actions: ['lambda:InvokeFunction'],
      resources: [props.reconcileFunction.functionArn],
    }),
  );
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'autoscaling:DescribeAutoScalingInstances supports no resource-level permissions, so "*" is the only resource it accepts; it is read-only and tells the intake whether the reporting instance is in this deployment\'s group.',
  });

  const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  // lambda:InvokeFunctionUrl (lambda:FunctionUrlAuthType = AWS_IAM) and lambda:InvokeFunction
  // only when invoked through the URL (lambda:InvokedViaFunctionUrl): a NAT cannot Invoke the
  // intake directly with a request context of its own making.
  url.grantInvokeUrl(props.natRole);
  return { function: fn, url };
}
