/**
 * Connects real AWS SDK v3 clients to the simulated world. A middleware at the front of each
 * client's stack takes the command and its input, waits the API latency on the virtual clock,
 * and answers from the world instead of sending a request. Everything above it (paginators,
 * commands, the controller's own error handling) is the production code path.
 *
 * Because the request never reaches the SDK's retry middleware (it would sleep on real timers),
 * the bridge applies the SDK's standard retry policy itself: the client's own maxAttempts,
 * exponential backoff with full jitter (100 ms base, 500 ms for throttling, 20 s cap).
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { AwsClients } from '../lambdas/core/clients';
import { invocationStorage } from './lambda';
import { draw } from './random';
import type { WorldContext } from './world/context';
import { CONTROLLER, type Principal } from './world/iam';
import { awsError, isRetryableCode, isThrottlingCode, THROTTLING_CODE, type Service } from './world/errors';
import { isMutating, type Throttle } from './world/throttle';

export interface WorldApi {
  ctx: WorldContext;
  throttle: Throttle;
  /** Answers one call made as `principal` (IAM is checked before anything happens). */
  handle(service: Service, command: string, input: Record<string, unknown>, principal: Principal): unknown;
}

const DEFAULT_BASE_MS = 100;
const THROTTLING_BASE_MS = 500;
const MAX_BACKOFF_MS = 20_000;

interface Bridgeable {
  middlewareStack: {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    add(middleware: any, options: { step: 'initialize'; name: string; priority: 'high'; override: boolean }): void;
  };
  config: { maxAttempts?: unknown };
}

/** `principal`: whose role the client's credentials are (the world applies that role's policy). */
export function connect<C extends Bridgeable>(client: C, service: Service, world: WorldApi, principal: Principal = CONTROLLER): C {
  const { clock, params, rng } = world.ctx;
  const maxAttempts = async () => {
    const value = client.config.maxAttempts;
    return Number(typeof value === 'function' ? await (value as () => Promise<number>)() : (value ?? 3));
  };
  const middleware =
    (_next: unknown, context: { commandName?: string }) =>
    async (args: { input: Record<string, unknown> }) => {
      const command = (context.commandName ?? '').replace(/Command$/, '');
      const attempts = await maxAttempts();
      let retryDelay = 0;
      for (let attempt = 1; ; attempt++) {
        await clock.sleep(draw(rng, isMutating(command) ? params.mutatingApiLatencyMs : params.apiLatencyMs));
        try {
          if (world.throttle.throttled(service, command)) throw awsError(service, THROTTLING_CODE[service], 'Rate exceeded', service === 'ec2' ? 503 : 400);
          const output = world.handle(service, command, args.input, principal);
          const invocation = invocationStorage.getStore();
          // A crash right after the call took effect: the caller never hears back.
          if (invocation && isMutating(command) && invocation.afterMutation()) return new Promise<never>(() => undefined);
          return {
            output: { ...(output as object), $metadata: { httpStatusCode: 200, requestId: `sim-${attempt}`, attempts: attempt, totalRetryDelay: retryDelay } },
            response: {},
          };
        } catch (error) {
          const e = error as { name?: string; $metadata?: { httpStatusCode?: number; attempts?: number; totalRetryDelay?: number } };
          const code = e.name ?? '';
          if (e.$metadata) Object.assign(e.$metadata, { attempts: attempt, totalRetryDelay: retryDelay });
          if (attempt >= attempts || !isRetryableCode(code, e.$metadata?.httpStatusCode)) throw error;
          const base = isThrottlingCode(code) ? THROTTLING_BASE_MS : DEFAULT_BASE_MS;
          const delay = Math.floor(Math.min(MAX_BACKOFF_MS, rng.next() * 2 ** (attempt - 1) * base));
          retryDelay += delay;
          await clock.sleep(delay);
        }
      }
    };
  client.middlewareStack.add(middleware, { step: 'initialize', name: 'natbeatSimulatedWorld', priority: 'high', override: true });
  return client;
}

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'SIMULATED', secretAccessKey: 'SIMULATED' } };

/** The controller's clients, built like createAwsClients builds them, answered by the world. */
export function controllerClients(world: WorldApi, maxAttempts: number): AwsClients {
  const common = { ...LOCAL, maxAttempts, retryMode: 'standard' };
  // A value, not a literal: the controller reads heartbeats from CloudWatch or from the report
  // log, depending on its version; it gets both clients and uses its own.
  const clients = {
    ec2: connect(new EC2Client(common), 'ec2', world),
    autoScaling: connect(new AutoScalingClient(common), 'autoscaling', world),
    cloudWatch: connect(new CloudWatchClient({ ...common, disableRequestCompression: true }), 'cloudwatch', world),
    dynamoDb: dynamoDbClient(world, CONTROLLER, maxAttempts),
  };
  return clients;
}

export function ec2Client(world: WorldApi, principal: Principal): EC2Client {
  return connect(new EC2Client({ ...LOCAL, maxAttempts: 3 }), 'ec2', world, principal);
}

/** A DynamoDB client (the report log), as `principal`, answered by the world. */
export function dynamoDbClient(world: WorldApi, principal: Principal, maxAttempts = 3): DynamoDBClient {
  return connect(new DynamoDBClient({ ...LOCAL, maxAttempts }), 'dynamodb', world, principal);
}
