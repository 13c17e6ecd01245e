/**
 * Errors the CLI turns into one actionable line and an exit code. AWS SDK errors are classified
 * here, so every command reports missing credentials, permissions and throttling the same way.
 */
import { awsErrorCode, errorMessage, NatbeatError } from '../lambdas/core/errors';
import { ConfigError } from '../lambdas/core/errors';
import { CostInputError } from '../common/cost-model';

export const ExitCode = {
  ok: 0,
  /** `status`: the controller would alert. Any command: AWS or runtime error. */
  alertOrError: 1,
  /** Bad command line or configuration. */
  usage: 2,
} as const;

/** A bad command line: exit 2 with the usage hint. */
export class UsageError extends NatbeatError {}

/** An error the user can act on, already worded for them. */
export class CliError extends NatbeatError {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.alertOrError,
    options?: { cause?: unknown },
  ) {
    super(message, {}, options);
  }
}

/** Set on SDK errors by the CLI's clients: the IAM action of the call that failed, e.g. ec2:DescribeRouteTables. */
export const FAILED_OPERATION = Symbol.for('natbeat.failedOperation');

export function failedOperation(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const op = (e as { [FAILED_OPERATION]?: string })[FAILED_OPERATION];
    if (op) return op;
  }
  return undefined;
}

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedAccess', 'AuthFailure']);
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
]);
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidAccessKeyId',
]);

export function isAccessDenied(code: string): boolean {
  return ACCESS_DENIED.has(code);
}

export function isThrottled(code: string): boolean {
  return THROTTLED.has(code);
}

/** The innermost AWS error code in a cause chain (observe wraps SDK errors in ObserveError). */
function rootAwsError(error: unknown): unknown {
  let e = error;
  while (e instanceof NatbeatError && e.cause !== undefined) e = e.cause;
  return e;
}

/** Words an AWS error for an operator; the hint names the permission or setting to fix. */
export function describeAwsError(error: unknown): { code: string; hint?: string } {
  const root = rootAwsError(error);
  const code = awsErrorCode(root);
  const op = failedOperation(error);
  if (isAccessDenied(code)) {
    return { code, hint: `access denied${op ? `: the credentials lack the permission ${op}` : ''}` };
  }
  if (isThrottled(code)) {
    return { code, hint: `AWS throttled ${op ?? 'a call'} even after retries: try again in a minute, or raise NATBEAT_MAX_ATTEMPTS` };
  }
  return { code };
}

/** Maps anything thrown by a command to a CliError with a message worth printing. */
export function toCliError(error: unknown, context: { region?: string; endpoint?: string; profile?: string } = {}): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof CostInputError) {
    return new CliError(error.message, ExitCode.usage, { cause: error });
  }
  const root = rootAwsError(error);
  const code = awsErrorCode(root);
  const message = errorMessage(root);
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    if (context.profile) {
      return new CliError(
        `the AWS profile "${context.profile}" (AWS_PROFILE) gave no credentials: for an SSO profile run \`aws sso login --profile ${context.profile}\`, else check its keys or role`,
        ExitCode.alertOrError,
        { cause: error },
      );
    }
    return new CliError(
      'no AWS credentials found: set AWS_PROFILE (and run `aws sso login` for SSO profiles), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
      ExitCode.alertOrError,
      { cause: error },
    );
  }
  if (/Region is missing/i.test(message)) {
    return new CliError('no AWS region: set AWS_REGION (or a region in your AWS_PROFILE), or pass --region', ExitCode.alertOrError, {
      cause: error,
    });
  }
  if (BAD_CREDENTIALS.has(code)) {
    return new CliError(`AWS rejected the credentials (${code}: ${message}): refresh them or pick another AWS_PROFILE`, ExitCode.alertOrError, {
      cause: error,
    });
  }
  const status = (root as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status === 404 || status === 405) {
    // Not an AWS error at all: whatever answered does not serve this API (a wrong AWS_ENDPOINT_URL).
    const op = failedOperation(error);
    return new CliError(
      `the endpoint${context.endpoint ? ` ${context.endpoint}` : ''} answered HTTP ${status} to ${op ?? 'an AWS call'}: it does not serve this AWS API; check AWS_ENDPOINT_URL and AWS_REGION`,
      ExitCode.alertOrError,
      { cause: error },
    );
  }
  const { hint } = describeAwsError(error);
  if (hint) return new CliError(`${hint} (${code}: ${message})`, ExitCode.alertOrError, { cause: error });
  if (code === 'TimeoutError' || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT/.test(message)) {
    return new CliError(
      `cannot reach AWS${context.region ? ` in ${context.region}` : ''} (${message}): check the network, AWS_REGION and AWS_ENDPOINT_URL`,
      ExitCode.alertOrError,
      { cause: error },
    );
  }
  return new CliError(errorMessage(error), ExitCode.alertOrError, { cause: error });
}
