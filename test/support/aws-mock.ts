/**
 * Plugging a FakeAws into SDK clients, two ways:
 *  - mockFakeAws: aws-sdk-client-mock stubs `send` of every EC2, Auto Scaling and DynamoDB client
 *    and answers from the fake. Fast, and the mocks' matchers work; the SDK's middleware (retries
 *    included) is bypassed, as with any `send` stub.
 *  - installFakeTransport: a middleware just below the SDK's retry and signing layers answers
 *    instead of the network, so retries, backoff and request building really run (throttling
 *    tests, the benchmark's latency).
 */
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  SetInstanceHealthCommand,
} from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  AssociateAddressCommand,
  CreateRouteCommand,
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ReplaceRouteCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../lambdas/core/clients';
import type { FakeAws } from './fake-aws';

/* eslint-disable @typescript-eslint/no-explicit-any -- one fake answers commands of three clients */

const EC2_COMMANDS = [
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeInstancesCommand,
  DescribeAddressesCommand,
  AssociateAddressCommand,
  ModifyInstanceAttributeCommand,
  CreateRouteCommand,
  ReplaceRouteCommand,
];
const AUTO_SCALING_COMMANDS = [
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  SetInstanceHealthCommand,
  CompleteLifecycleActionCommand,
];
const DYNAMODB_COMMANDS = [QueryCommand];

/** Mocks every client of the three classes until `restore()` (which a test's afterEach must call). */
export function mockFakeAws(fake: FakeAws) {
  const ec2 = mockClient(EC2Client);
  const autoScaling = mockClient(AutoScalingClient);
  const dynamoDb = mockClient(DynamoDBClient);
  const wire = (stub: any, commands: any[]) => {
    for (const command of commands) stub.on(command).callsFake((input: unknown) => fake.handle(command.name, input));
  };
  wire(ec2, EC2_COMMANDS);
  wire(autoScaling, AUTO_SCALING_COMMANDS);
  wire(dynamoDb, DYNAMODB_COMMANDS);
  const restore = () => [ec2, autoScaling, dynamoDb].forEach((stub) => stub.restore());
  return { ec2, autoScaling, dynamoDb, restore };
}

/** Plain clients (their `send` is what mockFakeAws stubs). */
export function plainClients(): AwsClients {
  const common = { region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  return { ec2: new EC2Client(common), autoScaling: new AutoScalingClient(common), dynamoDb: new DynamoDBClient(common) };
}

export interface TransportOptions {
  /** Added to every attempt, like a network round trip. */
  latencyMs?: number;
}

/**
 * Answers from the fake below the retry layer: each attempt (a retry included) reaches the fake,
 * and a thrown error goes through the SDK's retry strategy exactly like a service error.
 */
export function installFakeTransport(clients: AwsClients, fake: FakeAws, options: TransportOptions = {}): void {
  for (const client of [clients.ec2, clients.autoScaling, clients.dynamoDb] as { middlewareStack: any }[]) {
    client.middlewareStack.add(
      (_next: unknown, context: { commandName?: string }) => async (args: { input: unknown }) => {
        if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
        const output = await fake.handle(context.commandName ?? 'unknown', args.input);
        return { output, response: { statusCode: 200, headers: {} } };
      },
      { step: 'deserialize', priority: 'high', name: 'natbeatFakeTransport', override: true },
    );
  }
}

/** Records the name of every command the clients send (each once, however often it is retried). */
export function recordCommands(clients: AwsClients): string[] {
  const names: string[] = [];
  for (const client of [clients.ec2, clients.autoScaling, clients.dynamoDb] as { middlewareStack: any }[]) {
    client.middlewareStack.add(
      (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => {
        names.push(context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'initialize', name: 'natbeatCommandRecorder', override: true },
    );
  }
  return names;
}
