/**
 * The intake: a small Lambda behind a Function URL with AuthType AWS_IAM, the NATs' only way to
 * the controller. Lambda verifies each request's SigV4 signature; the function accepts only this
 * deployment's NAT role sessions (named after the instance), appends their heartbeats to the
 * report log and wakes the reconcile function with verified reports. The NAT role may call the
 * URL and nothing else of the controller.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
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
  /** The report log the intake appends to (and only appends to). */
  readonly reportLog: dynamodb.ITable;
  /** NATs of the deployment at most (the group's maximum size). */
  readonly maxNats: number;
}

export interface Intake {
  readonly function: lambda.Function;
  readonly url: lambda.FunctionUrl;
}

/**
 * At most this many intake invocations at once. Every NAT sends one body at a time (a heartbeat
 * every few seconds, ~20–50 ms each when warm), so the steady load is a small fraction of one
 * environment; but after an intake or network hiccup every NAT retries at once, some into cold
 * starts (~1 s), and a NAT's failure report must not wait behind its peers'. One slot per NAT the
 * group can hold (two per zone during a replacement), at least this many; a NAT flooding the URL
 * is throttled by Lambda (429) beyond that and cannot run up the bill.
 */
export const MIN_INTAKE_CONCURRENCY = 2;

export function intakeConcurrency(maxNats: number): number {
  return Math.max(MIN_INTAKE_CONCURRENCY, maxNats);
}

export function createIntake(scope: Construct, props: IntakeProps): Intake {
  const fn = controllerFunction(scope, 'Intake', {
    code: props.code,
    bundle: 'intake',
    description: 'natbeat: verified NAT heartbeats (Function URL, AWS_IAM) → report log → reconcile',
    environment: {
      [INTAKE_ENV.natRoleArn]: props.natRole.roleArn,
      [INTAKE_ENV.reconcileFunction]: props.reconcileFunction.functionArn,
      [INTAKE_ENV.groupNames]: props.settings.groupName,
      [INTAKE_ENV.reportTable]: props.reportLog.tableName,
      POWERTOOLS_SERVICE_NAME: `${controllerServiceName(props.settings.groupName)}-intake`,
      NODE_OPTIONS: '--enable-source-maps',
    },
    logRetention: props.logRetention,
    // A body every few seconds from every NAT: the platform's START/END/REPORT lines per request
    // would be most of the log bill. JSON lines; platform lines only at WARN; the handler logs
    // what is news (refusals, failures, wakes) at INFO and every accepted beat only at DEBUG.
    logging: { systemLogLevel: lambda.SystemLogLevel.WARN, applicationLogLevel: lambda.ApplicationLogLevel.INFO },
    reservedConcurrentExecutions: intakeConcurrency(props.maxNats),
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
      sid: 'ListPeersReadOnly',
      // The deployment's NATs and their private addresses, for the agents' peer probes.
      actions: ['autoscaling:DescribeAutoScalingGroups', 'ec2:DescribeInstances'],
      resources: ['*'],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'AppendToReportLog',
      // Append only: the intake can add what a NAT says, never read, change or delete it.
      actions: ['dynamodb:PutItem'],
      resources: [props.reportLog.tableArn],
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
    reason: 'autoscaling:DescribeAutoScalingInstances, autoscaling:DescribeAutoScalingGroups and ec2:DescribeInstances support no resource-level permissions, so "*" is the only resource they accept; they are read-only and tell the intake whether the reporting instance is in this deployment\'s group, and which peers its agent should probe.',
  });

  const url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
  // lambda:InvokeFunctionUrl (lambda:FunctionUrlAuthType = AWS_IAM) and lambda:InvokeFunction
  // only when invoked through the URL (lambda:InvokedViaFunctionUrl): a NAT cannot Invoke the
  // intake directly with a request context of its own making.
  url.grantInvokeUrl(props.natRole);
  return { function: fn, url };
}
