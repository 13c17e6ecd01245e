import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EC2Client } from '@aws-sdk/client-ec2';

/** The AWS clients the controller talks through; tests and the simulator pass their own. */
export interface AwsClients {
  ec2: EC2Client;
  autoScaling: AutoScalingClient;
  cloudWatch: CloudWatchClient;
}

export interface ClientOptions {
  region?: string;
  /** Attempts per call. The standard retry strategy backs off on throttling (RequestLimitExceeded, Throttling…). */
  maxAttempts?: number;
}

/**
 * Builds the clients once. Region, credentials and endpoints come from the SDK's standard chain
 * (AWS_REGION, AWS_ENDPOINT_URL_*…), so the same code runs in Lambda, the CLI and against emulators.
 */
export function createAwsClients(options: ClientOptions = {}): AwsClients {
  const common = { region: options.region, maxAttempts: options.maxAttempts ?? 5, retryMode: 'standard' };
  return {
    ec2: new EC2Client(common),
    autoScaling: new AutoScalingClient(common),
    // Request bodies here are small; compression only trips up some emulators.
    cloudWatch: new CloudWatchClient({ ...common, disableRequestCompression: true }),
  };
}
