import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';

/** The AWS clients the controller talks through; tests and the simulator pass their own. */
export interface AwsClients {
  ec2: EC2Client;
  autoScaling: AutoScalingClient;
  /** The report log (strongly consistent Queries only). */
  dynamoDb: DynamoDBClient;
}

export interface ClientOptions {
  region?: string;
  /** Attempts per call. The standard retry strategy backs off on throttling (RequestLimitExceeded, Throttling…). */
  maxAttempts?: number;
}

/**
 * Builds the clients, each on first use and then kept. Region, credentials and endpoints come from
 * the SDK's standard chain (AWS_REGION, AWS_ENDPOINT_URL_*…), so the same code runs in Lambda, the
 * CLI and against emulators.
 */
export function createAwsClients(options: ClientOptions = {}): AwsClients {
  const common = { region: options.region, maxAttempts: options.maxAttempts ?? 5, retryMode: 'standard' };
  let ec2: EC2Client | undefined;
  let autoScaling: AutoScalingClient | undefined;
  let dynamoDb: DynamoDBClient | undefined;
  return {
    get ec2() {
      return (ec2 ??= new EC2Client(common));
    },
    get autoScaling() {
      return (autoScaling ??= new AutoScalingClient(common));
    },
    get dynamoDb() {
      return (dynamoDb ??= new DynamoDBClient(common));
    },
  };
}
