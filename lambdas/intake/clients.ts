/**
 * The intake's AWS clients, each created on first use: a request loads only the SDK packages it
 * needs (EC2 only for the peer list, off the fast path), and an execution environment reuses
 * them. Tests and the simulator pass clients of their own.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { LambdaClient } from '@aws-sdk/client-lambda';

type Sender<C extends { send: unknown }> = Pick<C, 'send'>;
/** A client, or a way to get one when first needed. */
export type ClientSource<C extends { send: unknown }> = () => Sender<C> | Promise<Sender<C>>;

export interface IntakeClients {
  autoScaling: ClientSource<AutoScalingClient>;
  ec2: ClientSource<EC2Client>;
  dynamoDb: ClientSource<DynamoDBClient>;
  lambda: ClientSource<LambdaClient>;
}

/** Memoizes an async factory: one client per execution environment, built on first use. */
export function once<T>(create: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= create().catch((error: unknown) => {
      made = undefined;
      throw error;
    });
    return made;
  };
}

/** A few SDK attempts each: the agent retries on 503 within its own cycle. */
const options = { maxAttempts: 3 } as const;

export function lazyClients(): IntakeClients {
  return {
    autoScaling: once(async () => new (await import('@aws-sdk/client-auto-scaling')).AutoScalingClient(options)),
    ec2: once(async () => new (await import('@aws-sdk/client-ec2')).EC2Client(options)),
    dynamoDb: once(async () => new (await import('@aws-sdk/client-dynamodb')).DynamoDBClient(options)),
    lambda: once(async () => new (await import('@aws-sdk/client-lambda')).LambdaClient(options)),
  };
}
