/**
 * The CLI's view of AWS: the controller's clients, wrapped so that
 * - only read calls (Describe*, Get*, List*, DynamoDB Query) can be sent — the CLI never changes anything, and
 * - a failed call carries its IAM action name (e.g. ec2:DescribeRouteTables) for the error message.
 */
import type { AwsClients } from '../lambdas/core/clients';
import { FAILED_OPERATION } from './errors';

const IAM_PREFIX: Record<keyof AwsClients, string> = {
  ec2: 'ec2',
  autoScaling: 'autoscaling',
  dynamoDb: 'dynamodb',
};

// Query reads the report log (strongly consistent reads of items the intake wrote).
const READ_ONLY = /^(Describe|Get|List|Query$)/;

/** Thrown before sending when CLI code tries a mutating call. A bug, never a user error. */
export class ReadOnlyViolationError extends Error {}

/** Failed reads seen through the wrapped clients, newest last (observe swallows some of them). */
export interface CallRecorder {
  failures: { operation: string; error: unknown }[];
}

/** The API operation of an SDK command. Read from its schema: class names do not survive minifying. */
export function operationName(command: object): string {
  const schema = (command as { schema?: unknown }).schema;
  if (Array.isArray(schema) && schema[0] === 9 && typeof schema[2] === 'string') return schema[2];
  return command.constructor.name.replace(/Command$/, '');
}

export function readOnlyClients(clients: AwsClients, recorder: CallRecorder = { failures: [] }): AwsClients {
  const wrap = <C extends object>(client: C, service: string): C =>
    new Proxy(client, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        const send = Reflect.get(target, prop, receiver) as (command: object, ...rest: unknown[]) => Promise<unknown>;
        return async (command: object, ...rest: unknown[]) => {
          const operation = `${service}:${operationName(command)}`;
          if (!READ_ONLY.test(operation.split(':')[1]!)) {
            throw new ReadOnlyViolationError(`natbeat CLI refused to send ${operation}: the CLI only reads`);
          }
          try {
            return await send.call(target, command, ...rest);
          } catch (error) {
            if (error && typeof error === 'object') {
              Object.defineProperty(error, FAILED_OPERATION, { value: operation, configurable: true });
            }
            recorder.failures.push({ operation, error });
            throw error;
          }
        };
      },
    });
  return {
    ec2: wrap(clients.ec2, IAM_PREFIX.ec2),
    autoScaling: wrap(clients.autoScaling, IAM_PREFIX.autoScaling),
    dynamoDb: wrap(clients.dynamoDb, IAM_PREFIX.dynamoDb),
  };
}
