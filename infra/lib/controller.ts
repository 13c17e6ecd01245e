/**
 * The controller: the reconcile Lambda (bundled locally with esbuild), its environment, and what
 * triggers it: the one-minute schedule, the Auto Scaling lifecycle events, and the intake
 * (intake.ts). It is the only writer of routes: one
 * function with reserved concurrency 1, so two runs never write a table from different snapshots.
 */
import { Duration, Names, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { CONTROLLER_NAMESPACE, controllerServiceName } from '../../common/controller-metrics';
import { REPORT_TABLE_ENV } from '../../common/report-store';
import { DEFAULT_CONFIG, ENV } from '../../lambdas/core/config';
import { LAUNCH_DETAIL_TYPE, TERMINATE_DETAIL_TYPE } from '../../lambdas/core/events';
import { grantController } from './controller-permissions';
import { assetFrom, bundleController, controllerDir, type CodeSource, type ControllerBundle } from './bundles';
import { reconcileFunctionName, type Settings } from './settings';

/** Name of the reconcile Lambda: `<group>-reconcile`, or a unique name when the group's is a token. */
export function reconcileFunctionNameFor(scope: Construct, groupName: string): string {
  return Token.isUnresolved(groupName)
    ? `${Names.uniqueResourceName(scope, { maxLength: 54, separator: '-' })}-reconcile`
    : reconcileFunctionName(groupName);
}

export interface ControllerProps {
  readonly settings: Settings;
  /** Where the Lambdas' code comes from. */
  readonly code: CodeSource;
  readonly reconcileFunctionName: string;
  readonly dryRun: boolean;
  readonly logRetention: logs.RetentionDays;
  /** The NAT group: it waits for the function and the lifecycle rules before its first launch. */
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** The report log the controller reads the NATs' heartbeats and witness reports from. */
  readonly reportLog: dynamodb.ITable;
}

export interface Controller {
  readonly reconcileFunction: lambda.Function;
  /** Every trigger event that no run handled: failed, expired, or never delivered. */
  readonly deadLetterQueue: sqs.Queue;
}

/** Creates the reconcile Lambda, its permissions, the schedule and the lifecycle rules. */
export function createController(scope: Construct, props: ControllerProps): Controller {
  const { settings, code, logRetention } = props;
  const environment = { ...controllerEnvironment(settings, props.dryRun), [REPORT_TABLE_ENV]: props.reportLog.tableName };
  // One queue for both Lambdas (a failed or expired asynchronous invocation) and every rule
  // target (an event EventBridge could not deliver): a message there is a run that did not happen.
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const reconcileFunction = controllerFunction(scope, 'Reconcile', {
    functionName: props.reconcileFunctionName,
    code,
    bundle: 'reconcile',
    description: 'natbeat: observe NATs and route tables, mark silent NATs, move routes, complete lifecycle actions',
    environment,
    logRetention,
    // One run at a time: the only route writer. Invoked only by this stack's rules and the intake.
    reservedConcurrentExecutions: 1,
    timeout: Duration.seconds(55),
    // Level-triggered: a lost or stale run is replaced by the next one.
    retryAttempts: 0,
    maxEventAge: Duration.minutes(2),
    deadLetterQueue,
  });
  grantController(reconcileFunction.role as iam.Role, settings, props.reportLog);

  new events.Rule(scope, 'ReconcileSchedule', {
    description: 'natbeat backstop: reconcile every minute',
    schedule: events.Schedule.rate(Duration.minutes(1)),
    targets: [new targets.LambdaFunction(reconcileFunction, { retryAttempts: 0, deadLetterQueue })],
  });

  // One rule per hook, with the detail-types the handler accepts; to the same serialized function
  // as everything else, so a lifecycle action never races a reconcile run.
  const lifecycleRules = [
    { id: 'LaunchLifecycleRule', what: 'launch', detailType: LAUNCH_DETAIL_TYPE, hookName: DEFAULT_CONFIG.launchHookName },
    { id: 'TerminateLifecycleRule', what: 'terminate', detailType: TERMINATE_DETAIL_TYPE, hookName: DEFAULT_CONFIG.terminateHookName },
  ].map(
    (hook) =>
      new events.Rule(scope, hook.id, {
        description: `natbeat: ${hook.what} lifecycle actions of the NAT group`,
        eventPattern: {
          source: ['aws.autoscaling'],
          detailType: [hook.detailType],
          detail: { AutoScalingGroupName: [settings.groupName], LifecycleHookName: [hook.hookName] },
        },
        targets: [new targets.LambdaFunction(reconcileFunction, { deadLetterQueue })],
      }),
  );
  // The rules and the function exist before the first NAT launches and waits in its hook.
  props.autoScalingGroup.node.addDependency(...lifecycleRules, reconcileFunction);
  return { reconcileFunction, deadLetterQueue };
}

/** The controller's environment, as both Lambdas get it: everything it reads comes from `s`. */
export function controllerEnvironment(s: Settings, dryRun: boolean): Record<string, string> {
  const elasticIps = Object.entries(s.elasticIps)
    .map(([az, allocation]) => `${s.groupName}/${az}=${allocation}`)
    .join(',');
  return {
    [ENV.groupTagKey]: DEFAULT_CONFIG.groupTagKey,
    // The controller manages exactly this group: its IAM policy is scoped to it.
    [ENV.groupNames]: s.groupName,
    [ENV.routeTableTag]: `${s.routeTableTag.key}=${s.routeTableTag.value}`,
    [ENV.namespace]: s.heartbeatNamespace,
    [ENV.heartbeatPeriodSeconds]: String(s.heartbeatSeconds),
    [ENV.heartbeatSlackSeconds]: String(s.heartbeatSlackSeconds),
    [ENV.silenceSeconds]: String(s.silenceSeconds),
    [ENV.graceSeconds]: String(s.graceSeconds),
    [ENV.failbackHeartbeats]: String(s.failbackHeartbeats),
    [ENV.maxUnhealthyShare]: String(s.maxUnhealthyShare),
    [ENV.launchHookName]: DEFAULT_CONFIG.launchHookName,
    [ENV.terminateHookName]: DEFAULT_CONFIG.terminateHookName,
    [ENV.launchProofTimeoutSeconds]: String(s.launchProofSeconds),
    [ENV.elasticIps]: elasticIps,
    [ENV.elasticIpTagPrefix]: DEFAULT_CONFIG.elasticIpTagPrefix,
    [ENV.dryRun]: String(dryRun),
    [ENV.handoverDrainSeconds]: String(s.handoverDrainSeconds),
    [ENV.handoverLeadSeconds]: String(DEFAULT_CONFIG.handoverLeadSeconds),
    [ENV.maxAttempts]: String(DEFAULT_CONFIG.maxAttempts),
    POWERTOOLS_SERVICE_NAME: controllerServiceName(s.groupName),
    POWERTOOLS_METRICS_NAMESPACE: CONTROLLER_NAMESPACE,
    NODE_OPTIONS: '--enable-source-maps',
  };
}

export interface ControllerFunctionOptions {
  functionName?: string;
  code: CodeSource;
  bundle: ControllerBundle;
  description: string;
  environment: Record<string, string>;
  logRetention: logs.RetentionDays;
  timeout: Duration;
  retryAttempts: number;
  maxEventAge: Duration;
  reservedConcurrentExecutions?: number;
  /** JSON log lines with these levels (absent: Lambda's text format, every platform line). */
  logging?: { systemLogLevel: lambda.SystemLogLevel; applicationLogLevel: lambda.ApplicationLogLevel };
  /** Where failed or expired asynchronous invocations go (none for a synchronous function). */
  deadLetterQueue?: sqs.IQueue;
}

/** One natbeat Lambda with its own log group and a role that writes only there. */
export function controllerFunction(scope: Construct, id: string, opts: ControllerFunctionOptions): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: opts.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // An explicit role without AWSLambdaBasicExecutionRole: logs go to this one log group only.
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `natbeat ${id.toLowerCase()} Lambda`,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'WriteOwnLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const fn = new lambda.Function(scope, id, {
    functionName: opts.functionName,
    code: lambda.Code.fromAsset(...controllerAsset(opts.code, opts.bundle)),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: opts.timeout,
    description: opts.description,
    environment: opts.environment,
    role,
    logGroup,
    ...(opts.logging
      ? { loggingFormat: lambda.LoggingFormat.JSON, systemLogLevelV2: opts.logging.systemLogLevel, applicationLogLevelV2: opts.logging.applicationLogLevel }
      : {}),
    reservedConcurrentExecutions: opts.reservedConcurrentExecutions,
    retryAttempts: opts.retryAttempts,
    maxEventAge: opts.maxEventAge,
    deadLetterQueue: opts.deadLetterQueue,
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'nodejs22.x is the runtime natbeat is built and tested for (esbuild target node22; supported until 2027-04-30). Moving to nodejs24.x is a deliberate upgrade with its own test run, not a silent default.',
  });
  return fn;
}

/** The Lambda's bundle (`index.mjs` + source map): prebuilt, or bundled from its sources at synth. */
function controllerAsset(code: CodeSource, bundle: ControllerBundle): [string, Omit<ReturnType<typeof assetFrom>, 'path'>] {
  const { path: assetPath, ...options } = assetFrom(code, controllerDir(bundle), controllerDir(bundle), (sourceRoot, outputDir) =>
    bundleController(bundle, sourceRoot, outputDir),
  );
  return [assetPath, options];
}
