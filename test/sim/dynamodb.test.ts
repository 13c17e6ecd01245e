import { PutItemCommand, QueryCommand, type AttributeValue, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { beatItem, BEAT_PREFIX, sortKeyRange, witnessItem } from '../../common/report-store';
import { VirtualClock } from '../../sim/clock';
import { DEFAULT_WORLD_PARAMS, type WorldParams } from '../../sim/params';
import { fixed, Random } from '../../sim/random';
import { dynamoDbClient, type WorldApi } from '../../sim/sdk-bridge';
import { Timeline } from '../../sim/timeline';
import type { WorldContext } from '../../sim/world/context';
import { DynamoWorld } from '../../sim/world/dynamodb';
import { CONTROLLER, Iam, INTAKE, natPrincipal, type Principal } from '../../sim/world/iam';
import { Throttle } from '../../sim/world/throttle';

const T0 = Date.UTC(2025, 0, 1);
const TABLE = 'reports';

function world(params: Partial<WorldParams> = {}) {
  const clock = new VirtualClock(T0);
  const ctx: WorldContext = { clock, rng: new Random(1), params: { ...DEFAULT_WORLD_PARAMS, ...params }, timeline: new Timeline(() => clock.now()), zonesDown: new Set() };
  const dynamo = new DynamoWorld(ctx);
  dynamo.createTable(TABLE, 'pk', 'sk');
  const iam = new Iam({ natMayPutMetricData: false, natMayInvokeReconcile: false, natMayWriteRoutes: false }, () => clock.now());
  const api: WorldApi = {
    ctx,
    throttle: new Throttle(ctx),
    handle: (service, command, input, principal: Principal) => {
      iam.check(principal, service, command, input);
      return dynamo.handle(command, input);
    },
  };
  /** Runs an SDK call to completion on the virtual clock. */
  const call = async <T>(fn: () => Promise<T>): Promise<T> => {
    let outcome: { value: T } | { error: unknown } | undefined;
    void fn().then((value) => (outcome = { value }), (error: unknown) => (outcome = { error }));
    // The SDK resolves its config before the call reaches the world: let it, then advance.
    for (let k = 0; k < 600 && !outcome; k++) {
      await new Promise((resolve) => setImmediate(resolve));
      await clock.run(clock.now() + 100);
    }
    if (!outcome) throw new Error('the call never finished on the virtual clock');
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
  return { ctx, dynamo, iam, api, call };
}

/** A report-store item in DynamoDB's wire form. */
function wire(item: object): Record<string, AttributeValue> {
  return Object.fromEntries(
    Object.entries(item).map(([k, v]) => [k, typeof v === 'number' ? { N: String(v) } : Array.isArray(v) ? { L: v.map((s: string) => ({ S: s })) } : { S: String(v) }]),
  );
}

const where = { groupName: 'g', availabilityZone: 'us-east-1a' };

describe('Class: DynamoWorld through the real DynamoDBClient', () => {
  it('answers a strongly consistent BETWEEN Query with every completed write, in sort-key order, and pages with Limit', async () => {
    const { api, call } = world({ dynamoEventualLagMs: fixed(1000) });
    const intake = dynamoDbClient(api, INTAKE);
    const controller = dynamoDbClient(api, CONTROLLER);
    for (const at of [T0 + 3000, T0 + 1000, T0 + 2000]) await call(() => intake.send(new PutItemCommand({ TableName: TABLE, Item: wire(beatItem('i-0a', at, 1, where)) })));
    await call(() => intake.send(new PutItemCommand({ TableName: TABLE, Item: wire(witnessItem('i-0a', 'i-0b', T0 + 2500)) })));
    const [from, to] = sortKeyRange(BEAT_PREFIX, T0, T0 + 10_000);
    const query = (extra: object) =>
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': { S: 'i-0a' }, ':from': { S: from }, ':to': { S: to } },
        ...extra,
      });
    const all = await call(() => controller.send(query({ ConsistentRead: true })));
    expect(all.Items!.map((i) => i.sk!.S)).toEqual([1000, 2000, 3000].map((ms) => `beat#${String(T0 + ms).padStart(13, '0')}`));

    const first = await call(() => controller.send(query({ ConsistentRead: true, Limit: 2 })));
    expect(first.Items).toHaveLength(2);
    expect(first.LastEvaluatedKey).toBeDefined();
    const rest: QueryCommandOutput = await call(() => controller.send(query({ ConsistentRead: true, Limit: 2, ExclusiveStartKey: first.LastEvaluatedKey })));
    expect(rest.Items!.map((i) => i.sk!.S)).toEqual([all.Items![2]!.sk!.S]);
    expect(rest.LastEvaluatedKey).toBeUndefined();

    const newestFirst = await call(() => controller.send(query({ ConsistentRead: true, ScanIndexForward: false, Limit: 1 })));
    expect(newestFirst.Items![0]!.sk!.S).toBe(all.Items![2]!.sk!.S);
  });

  it('lets an eventually consistent read miss a write younger than the lag, never a strongly consistent one', async () => {
    const { api, call, ctx } = world({ dynamoEventualLagMs: fixed(1000), mutatingApiLatencyMs: fixed(10), apiLatencyMs: fixed(10) });
    const intake = dynamoDbClient(api, INTAKE);
    const controller = dynamoDbClient(api, CONTROLLER);
    await call(() => intake.send(new PutItemCommand({ TableName: TABLE, Item: wire(beatItem('i-0a', T0, 0, where)) })));
    const writtenAt = ctx.clock.now();
    const read = (ConsistentRead: boolean) =>
      controller.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'i-0a' } }, ConsistentRead }));
    expect(ctx.clock.now() - writtenAt).toBeLessThan(1000);
    expect((await call(() => read(true))).Count).toBe(1);
    expect(ctx.clock.now() - writtenAt).toBeLessThan(1000);
    expect((await call(() => read(false))).Count).toBe(0);
    await ctx.clock.run(writtenAt + 1000);
    expect((await call(() => read(false))).Count).toBe(1);
  });

  it('refuses a NAT role that writes the log or a controller that writes it, with AccessDeniedException, and records who tried', async () => {
    const { api, call, iam } = world();
    const put = (principal: Principal) => call(() => dynamoDbClient(api, principal).send(new PutItemCommand({ TableName: TABLE, Item: wire(beatItem('i-0b', T0, 0, where)) })));
    await expect(put(natPrincipal('i-0a'))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(put(CONTROLLER)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(iam.denied.map((d) => [d.principal, d.command, d.about])).toEqual([
      ['i-0a', 'PutItem', 'i-0b'],
      ['controller', 'PutItem', 'i-0b'],
    ]);
  });

  it('answers a missing table, a missing key and an unknown condition with the service errors', async () => {
    const { api, call } = world();
    const intake = dynamoDbClient(api, INTAKE);
    await expect(call(() => intake.send(new PutItemCommand({ TableName: 'nope', Item: wire(beatItem('i-0a', T0, 1, where)) })))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(call(() => intake.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'i-0a' } } })))).rejects.toMatchObject({ name: 'ValidationException' });
    const controller = dynamoDbClient(api, CONTROLLER);
    await expect(
      call(() => controller.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'sk = :pk', ExpressionAttributeValues: { ':pk': { S: 'i-0a' } } }))),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });
});
