/**
 * The real intake handler against moto: membership and the peer list from moto's Auto Scaling
 * and EC2, the report log a real DynamoDB table (moto's). What the intake writes with PutItem
 * comes back from a strongly consistent Query over the reader's key range (sortKeyRange), decoded
 * by the same module the controller uses. Only the reconcile invoke is mocked (moto runs no code).
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBeat, readWitness } from '../../common/report-attributes';
import { BEAT_PREFIX, REPORT_KEY, sortKeyRange, WITNESS_PREFIX } from '../../common/report-store';
import { createIntakeHandler, intakeSettings, INTAKE_ENV } from '../../lambdas/intake/handler';
import { motoClients, motoSkipReason, startMoto, type MotoServer } from '../support/moto';
import { createReportTable } from '../support/report-log';
import { buildWorld, listNats } from './moto-world';
import heartbeat from '../fixtures/events/function-url-iam-heartbeat.json';

const skip = motoSkipReason();
const ACCOUNT = '123456789012';
const TABLE = 'natbeat-intake-moto-reports';

function request(instanceId: string, body: unknown) {
  const event = structuredClone(heartbeat);
  event.requestContext.authorizer.iam.userArn = `arn:aws:sts::${ACCOUNT}:assumed-role/natbeat-nat-role/${instanceId}`;
  event.body = JSON.stringify(body);
  return event;
}

describe.skipIf(skip !== undefined)('Integration: intake against moto (report log round trip)', () => {
  let moto: MotoServer;
  const lambda = mockClient(LambdaClient);

  beforeAll(async () => {
    moto = await startMoto();
  });
  afterAll(async () => {
    lambda.restore();
    await moto?.stop();
  });

  it('writes beats and witness items the reader gets back with a consistent Query by key range', async () => {
    await moto.reset();
    lambda.reset();
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const clients = motoClients(moto.endpoint);
    const dynamoDb = new DynamoDBClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 2 });
    await createReportTable(dynamoDb, TABLE);
    const world = await buildWorld(clients, { prefix: 'intake' });
    const [a, b, c] = await listNats(clients, world);
    const clock = { now: Date.parse('2026-06-01T12:00:00.250Z') };
    const handler = createIntakeHandler({
      settings: intakeSettings({
        [INTAKE_ENV.natRoleArn]: `arn:aws:iam::${ACCOUNT}:role/natbeat-nat-role`,
        [INTAKE_ENV.reconcileFunction]: 'natbeat-reconcile',
        [INTAKE_ENV.groupNames]: world.zones.map((z) => z.groupName).join(','),
        [INTAKE_ENV.reportTable]: TABLE,
      }),
      autoScaling: () => clients.autoScaling,
      ec2: () => clients.ec2,
      dynamoDb: () => dynamoDb,
      lambda: () => new LambdaClient({ region: 'us-east-1' }),
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never,
      now: () => new Date(clock.now),
    });

    const first = await handler(request(a!.instanceId, { status: 'ok' }));
    expect(first.statusCode).toBe(202);
    // The peers come from moto's groups and instances: the other two NATs, with private addresses.
    const peers = JSON.parse(first.body).peers as { instanceId: string; address: string; availabilityZone: string }[];
    expect(peers.map((p) => p.instanceId).sort()).toEqual([b!.instanceId, c!.instanceId].sort());
    expect(peers.every((p) => /^10\.\d+\.\d+\.\d+$/.test(p.address))).toBe(true);
    expect(peers.find((p) => p.instanceId === b!.instanceId)?.availabilityZone).toBe(b!.az);

    clock.now += 5_000;
    expect((await handler(request(a!.instanceId, { status: 'failing', failedProbes: ['egress', 'nat-rule'] }))).statusCode).toBe(202);
    clock.now += 1_000;
    expect((await handler(request(c!.instanceId, { status: 'ok', unreachablePeers: [a!.instanceId] }))).statusCode).toBe(202);

    const query = async (pk: string, prefix: typeof BEAT_PREFIX | typeof WITNESS_PREFIX, fromMs: number, toMs: number) => {
      const [low, high] = sortKeyRange(prefix, fromMs, toMs);
      const out = await dynamoDb.send(
        new QueryCommand({
          TableName: TABLE,
          ConsistentRead: true,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
          ExpressionAttributeNames: { '#pk': REPORT_KEY.partition, '#sk': REPORT_KEY.sort },
          ExpressionAttributeValues: { ':pk': { S: pk }, ':low': { S: low }, ':high': { S: high } },
        }),
      );
      return out.Items ?? [];
    };
    const start = Date.parse('2026-06-01T12:00:00.250Z');
    const aBeats = (await query(a!.instanceId, BEAT_PREFIX, start - 60_000, clock.now)).map((i) => readBeat(i as never));
    expect(aBeats).toEqual([
      expect.objectContaining({ pk: a!.instanceId, atMs: start, status: 1, groupName: a!.groupName, availabilityZone: a!.az }),
      expect.objectContaining({ pk: a!.instanceId, atMs: start + 5_000, status: 0, failedProbes: ['egress', 'nat-rule'] }),
    ]);
    expect(aBeats[1]!.expiresAt).toBe(Math.floor((start + 5_000) / 1000) + 3_600);
    // The beat range holds no witness items, and the witness range no beats.
    const aWitnesses = (await query(a!.instanceId, WITNESS_PREFIX, start, clock.now)).map((i) => readWitness(i as never));
    expect(aWitnesses).toEqual([expect.objectContaining({ pk: a!.instanceId, witnessId: c!.instanceId, atMs: start + 6_000 })]);
    // The range is inclusive at both ends, to the millisecond.
    expect(await query(a!.instanceId, BEAT_PREFIX, start + 1, start + 4_999)).toEqual([]);
    expect(await query(a!.instanceId, WITNESS_PREFIX, start + 6_000, start + 6_000)).toHaveLength(1);
    expect((await query(c!.instanceId, BEAT_PREFIX, start, clock.now)).map((i) => readBeat(i as never)?.status)).toEqual([1]);
    // Woken: a self-report for a, a witness report from c.
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
  });
});
