/**
 * The intake in the simulated account: the real `createIntakeHandler` (lambdas/intake/handler.ts)
 * with its own role's clients (Auto Scaling, EC2, Lambda, DynamoDB for the report log), behind a
 * simulated Function URL with AuthType AWS_IAM and the construct's reserved concurrency and
 * timeout. Agents reach it through `fetch`, signing with their instance's credentials.
 */
import { Hash } from '@smithy/hash-node';
import { SignedUrlSender } from '../agent/intake-client';
import { INTAKE_ENV, createIntakeHandler, intakeSettings } from '../lambdas/intake/handler';
import { InstanceCredentials, SimSyncFunction, functionUrlFetch, type UrlRequestRecord } from './function-url';
import { quietLogger } from './powertools';
import { connect, dynamoDbClient, ec2Client, type WorldApi } from './sdk-bridge';
import { INTAKE, NAT_ROLE_ARN } from './world/iam';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { LambdaHandler } from './lambda';
// The intake imports its SDK commands lazily (a lean cold start). Loading them takes real time
// the virtual clock cannot see, so they are loaded here once, with the simulator; the cold start
// they cost in AWS is `intakeColdStartMs`.
import '../lambdas/intake/sdk/auto-scaling';
import '../lambdas/intake/sdk/dynamodb';
import '../lambdas/intake/sdk/ec2';
import '../lambdas/intake/sdk/lambda';

/**
 * infra/lib/intake.ts `intakeConcurrency(maxNats(zones))`, mirrored (importing the construct would
 * load aws-cdk-lib into every trial): one slot per NAT the group can hold, two per zone
 * (infra/lib/nat-group.ts `maxNats`), at least 2.
 */
export function intakeReservedConcurrency(zoneCount: number): number {
  return Math.max(2, zoneCount * 2);
}
const INTAKE_TIMEOUT_MS = 10_000;
export const INTAKE_URL = 'https://simintake.lambda-url.us-east-1.on.aws/';

export interface IntakeSetup {
  reconcileFunction: string;
  groupNames: string[];
  reportTable: string;
  /** The deployment's zones: the construct sizes the intake's concurrency from them. */
  zoneCount: number;
  reservedConcurrency?: number;
}

export class SimIntake {
  readonly fn: SimSyncFunction;
  readonly credentials = new InstanceCredentials();
  readonly requests: UrlRequestRecord[] = [];
  readonly fetch: typeof fetch;

  constructor(world: WorldApi, setup: IntakeSetup) {
    const { ctx } = world;
    const env = {
      [INTAKE_ENV.natRoleArn]: NAT_ROLE_ARN,
      [INTAKE_ENV.reconcileFunction]: setup.reconcileFunction,
      [INTAKE_ENV.groupNames]: setup.groupNames.join(','),
      // The report log (read by intakes that write it; ignored by older ones).
      NATBEAT_REPORT_TABLE: setup.reportTable,
    };
    const common = { region: 'us-east-1', credentials: { accessKeyId: 'SIMULATED', secretAccessKey: 'SIMULATED' }, maxAttempts: 3 };
    const autoScaling = connect(new AutoScalingClient(common), 'autoscaling', world, INTAKE);
    const lambda = connect(new LambdaClient(common), 'lambda', world, INTAKE);
    const ec2 = ec2Client(world, INTAKE);
    const dynamoDb = dynamoDbClient(world, INTAKE);
    // Passed as a value, not a literal: both the intake's client shapes (eager and lazy) are given.
    const deps = {
      settings: intakeSettings(env),
      autoScaling: () => Promise.resolve(autoScaling),
      ec2: () => Promise.resolve(ec2),
      dynamoDb: () => Promise.resolve(dynamoDb),
      lambda: () => Promise.resolve(lambda),
      logger: quietLogger(),
      now: () => ctx.clock.date(),
    };
    const handler = createIntakeHandler(deps) as LambdaHandler;
    this.fn = new SimSyncFunction(ctx, 'natbeat-intake', handler, setup.reservedConcurrency ?? intakeReservedConcurrency(setup.zoneCount), INTAKE_TIMEOUT_MS, () => ctx.params.intakeColdStartMs);
    this.fetch = functionUrlFetch(ctx, this.fn, this.credentials, ctx.params.intakeRequestLatencyMs, this.requests);
  }

  /** The agent's real signed sender, with `instanceId`'s role credentials, to this intake. */
  senderFor(instanceId: string): SignedUrlSender {
    return new SignedUrlSender(INTAKE_URL, { region: 'us-east-1', credentials: () => Promise.resolve(this.credentials.of(instanceId)), sha256: Hash.bind(null, 'sha256'), fetch: this.fetch });
  }
}
