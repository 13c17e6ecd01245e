/**
 * AWS errors as the SDK would raise them: the service's own exception class, with the error code
 * as `name`, an HTTP status and a fault side, so `awsErrorCode()` and retry rules see what they
 * would see from the real service.
 */
import { AutoScalingServiceException } from '@aws-sdk/client-auto-scaling';
import { CloudWatchServiceException } from '@aws-sdk/client-cloudwatch';
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { LambdaServiceException } from '@aws-sdk/client-lambda';

export type Service = 'ec2' | 'autoscaling' | 'cloudwatch' | 'lambda' | 'dynamodb';

const EXCEPTIONS = {
  ec2: EC2ServiceException,
  autoscaling: AutoScalingServiceException,
  cloudwatch: CloudWatchServiceException,
  lambda: LambdaServiceException,
  dynamodb: DynamoDBServiceException,
} as const;

export function awsError(service: Service, code: string, message: string, httpStatusCode = 400): Error {
  const Exception = EXCEPTIONS[service];
  return new Exception({
    name: code,
    $fault: httpStatusCode >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode, attempts: 1 },
    message,
  });
}

/** Throttling codes of each service: the SDK's standard retry strategy backs off on these. */
export const THROTTLING_CODE: Record<Service, string> = {
  ec2: 'RequestLimitExceeded',
  autoscaling: 'Throttling',
  cloudwatch: 'Throttling',
  lambda: 'TooManyRequestsException',
  dynamodb: 'ThrottlingException',
};

export function isRetryableCode(code: string, httpStatusCode: number | undefined): boolean {
  return /throttl|RequestLimitExceeded|TooManyRequests/i.test(code) || (httpStatusCode ?? 0) >= 500;
}

export function isThrottlingCode(code: string): boolean {
  return /throttl|RequestLimitExceeded|TooManyRequests/i.test(code);
}
