/**
 * The intake: the one door a NAT has into the controller. Behind a Function URL with AuthType
 * AWS_IAM, it takes a NAT's report of its own failure, believes the caller's identity only as
 * Lambda verified it (the role session of this deployment's NAT role, named after the instance),
 * checks that the instance is in one of the deployment's groups, and wakes the serialized
 * reconcile function with a verified self-report (asynchronous invoke). What the body says about
 * any instance is ignored; only the failed probe names are passed on, as words for the log.
 *
 * Answers: 202 accepted · 400 malformed · 403 not a NAT of this deployment · 429 this instance
 * reported less than REPORT_INTERVAL_MS ago · 503 AWS could not be asked (the agent retries).
 */
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { readReportBody, verifyCaller } from '../core/caller-identity';
import { awsErrorCode, errorMessage } from '../core/errors';
import { selfReportEvent } from '../core/events';
import { intakeSettings, type IntakeSettings } from './settings';

export { INTAKE_ENV, intakeSettings } from './settings';

/** One accepted report per instance per this interval (per execution environment). */
export const REPORT_INTERVAL_MS = 10_000;

export interface IntakeDeps {
  settings: IntakeSettings | Error;
  autoScaling: () => Pick<AutoScalingClient, 'send'>;
  lambda: () => Pick<LambdaClient, 'send'>;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  now: () => Date;
}

export interface FunctionUrlResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const answer = (statusCode: number, body: Record<string, unknown>): FunctionUrlResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export function createIntakeHandler(deps: IntakeDeps) {
  const lastAcceptedAt = new Map<string, number>();
  return async (event: unknown): Promise<FunctionUrlResponse> => {
    const { settings, logger } = deps;
    if (settings instanceof Error) {
      logger.error(settings.message);
      return answer(500, { message: 'intake misconfigured' });
    }
    const caller = verifyCaller(event, settings.identity);
    if (!caller.ok) {
      logger.warn('report refused', { reason: caller.reason });
      return answer(caller.status, { message: caller.reason });
    }
    const { instanceId, callerArn } = caller;
    const body = readReportBody(event);
    if (!body.ok) {
      logger.warn('report refused', { instanceId, reason: body.reason });
      return answer(400, { message: body.reason });
    }
    if (body.claimedInstanceId !== undefined && body.claimedInstanceId !== instanceId) {
      logger.warn('report names another instance: ignored, the caller is who reports', { instanceId, claimed: body.claimedInstanceId.slice(0, 64) });
    }
    const nowMs = deps.now().getTime();
    const sinceMs = nowMs - (lastAcceptedAt.get(instanceId) ?? Number.NEGATIVE_INFINITY);
    if (sinceMs < REPORT_INTERVAL_MS) {
      logger.info('report refused', { instanceId, reason: `reported ${Math.round(sinceMs / 1000)} s ago` });
      return answer(429, { message: `${instanceId} reported ${Math.round(sinceMs / 1000)} s ago; one report per ${REPORT_INTERVAL_MS / 1000} s` });
    }

    let member: { AutoScalingGroupName?: string; AvailabilityZone?: string } | undefined;
    try {
      const out = await deps.autoScaling().send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
      member = out.AutoScalingInstances?.find((i) => i.InstanceId === instanceId);
    } catch (error) {
      logger.error('could not look the reporting instance up', { instanceId, error: `${awsErrorCode(error)}: ${errorMessage(error)}` });
      return answer(503, { message: 'could not check the instance; try again' });
    }
    if (!member?.AutoScalingGroupName || !settings.groupNames.includes(member.AutoScalingGroupName)) {
      const where = member?.AutoScalingGroupName ? `group ${member.AutoScalingGroupName}` : 'no Auto Scaling group';
      logger.warn('report refused', { instanceId, reason: `in ${where}, not one of ${settings.groupNames.join(', ')}` });
      return answer(403, { message: `${instanceId} is not a NAT of this deployment` });
    }

    const report = selfReportEvent(
      { instanceId, groupName: member.AutoScalingGroupName, availabilityZone: member.AvailabilityZone ?? 'unknown', failedProbes: body.failedProbes, callerArn },
      new Date(nowMs),
    );
    try {
      await deps.lambda().send(
        new InvokeCommand({ FunctionName: settings.reconcileFunction, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(report)) }),
      );
    } catch (error) {
      logger.error('could not wake the reconcile function', { instanceId, error: `${awsErrorCode(error)}: ${errorMessage(error)}` });
      return answer(503, { message: 'could not pass the report on; try again' });
    }
    lastAcceptedAt.set(instanceId, nowMs);
    logger.info('self-report accepted', { instanceId, groupName: member.AutoScalingGroupName, failedProbes: body.failedProbes });
    return answer(202, { status: 'accepted', instanceId });
  };
}

let autoScaling: AutoScalingClient | undefined;
let lambda: LambdaClient | undefined;
export const handler = createIntakeHandler({
  settings: intakeSettings(process.env),
  autoScaling: () => (autoScaling ??= new AutoScalingClient({ maxAttempts: 3 })),
  lambda: () => (lambda ??= new LambdaClient({ maxAttempts: 3 })),
  logger: new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'natbeat-intake' }),
  now: () => new Date(),
});
