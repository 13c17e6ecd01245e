/**
 * The intake believes only the caller Lambda verified (SigV4, AuthType AWS_IAM): this
 * deployment's NAT role, this account, an instance-id session, an instance of the managed groups.
 * It writes the caller's beat (and its witness items) to the report log before it wakes anything.
 * Events are shaped exactly like AWS's Function URL request payload (format 2.0).
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { readBeat, readWitness } from '../../common/report-attributes';
import { identityFromRoleArn, verifyCaller } from '../../lambdas/core/caller-identity';
import { verifiedSelfReport, verifiedWitnessReport } from '../../lambdas/core/events';
import { createIntakeHandler, intakeSettings, INTAKE_ENV } from '../../lambdas/intake/handler';
import firstRelease from '../fixtures/events/function-url-iam.json';
import heartbeat from '../fixtures/events/function-url-iam-heartbeat.json';

const ACCOUNT = '123456789012';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/natbeat/natbeat-nat-role`;
const NAT = 'i-0abc123def4567890';
const OTHER = 'i-0fedcba9876543210';
const THIRD = 'i-0aaaabbbbccccdddd';
const GROUP = 'natbeat-nat';
const TABLE = 'natbeat-reports';
const NOW = new Date('2026-06-01T12:00:00Z');

const autoScaling = mockClient(AutoScalingClient);
const ec2 = mockClient(EC2Client);
const dynamoDb = mockClient(DynamoDBClient);
const lambda = mockClient(LambdaClient);

type Event = typeof heartbeat;
/** The documented event with its caller and body replaced. */
function request(userArn: string, body: unknown = { status: 'failing', failedProbes: ['forward-path'] }, patch: (e: Event) => void = () => undefined): Event {
  const event = structuredClone(heartbeat);
  event.requestContext.authorizer.iam.userArn = userArn;
  event.body = typeof body === 'string' ? body : JSON.stringify(body);
  patch(event);
  return event;
}
const natArn = (instanceId = NAT, role = 'natbeat-nat-role', account = ACCOUNT) => `arn:aws:sts::${account}:assumed-role/${role}/${instanceId}`;
const from = (instanceId: string, body: unknown) => request(natArn(instanceId), body);

function intake(clock = { now: NOW.getTime() }) {
  const logs: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  const log = (level: string) => (message: string, extra?: Record<string, unknown>) => void logs.push({ level, message, extra });
  const region = { region: 'us-east-1' };
  const handler = createIntakeHandler({
    settings: intakeSettings({
      [INTAKE_ENV.natRoleArn]: ROLE_ARN,
      [INTAKE_ENV.reconcileFunction]: 'natbeat-nat-reconcile',
      [INTAKE_ENV.groupNames]: GROUP,
      [INTAKE_ENV.reportTable]: TABLE,
    }),
    autoScaling: () => new AutoScalingClient(region),
    ec2: () => new EC2Client(region),
    // Lazily, as in Lambda: a promise of a client works as well as a client.
    dynamoDb: () => Promise.resolve(new DynamoDBClient(region)),
    lambda: () => new LambdaClient(region),
    logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') } as never,
    now: () => new Date(clock.now),
  });
  return { handler, logs, clock };
}

const invoked = () => lambda.commandCalls(InvokeCommand).map((c) => JSON.parse(new TextDecoder().decode(c.args[0].input.Payload as Uint8Array)));
const written = () => dynamoDb.commandCalls(PutItemCommand).map((c) => c.args[0].input);
const beats = () => written().map((i) => readBeat(i.Item as never)).filter((b) => b !== undefined);
const witnesses = () => written().map((i) => readWitness(i.Item as never)).filter((w) => w !== undefined);
const awsCalls = () => autoScaling.calls().length + ec2.calls().length + dynamoDb.calls().length + lambda.calls().length;
const answerOf = (response: { body: string }) => JSON.parse(response.body);

describe('Function: intake handler', () => {
  beforeEach(() => {
    for (const client of [autoScaling, ec2, dynamoDb, lambda]) client.reset();
    autoScaling.on(DescribeAutoScalingInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
      AutoScalingInstances: input.InstanceIds.filter((id) => [NAT, OTHER, THIRD].includes(id)).map((id) => ({
        InstanceId: id,
        AutoScalingGroupName: id === THIRD ? 'someone-elses-group' : GROUP,
        AvailabilityZone: id === NAT ? 'us-east-1a' : 'us-east-1b',
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
        ProtectedFromScaleIn: false,
      })),
    }));
    autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: GROUP,
          MinSize: 2,
          MaxSize: 4,
          DesiredCapacity: 3,
          DefaultCooldown: 300,
          AvailabilityZones: ['us-east-1a', 'us-east-1b'],
          HealthCheckType: 'EC2',
          CreatedTime: NOW,
          Instances: [
            { InstanceId: NAT, LifecycleState: 'InService', AvailabilityZone: 'us-east-1a', HealthStatus: 'Healthy', ProtectedFromScaleIn: false },
            { InstanceId: OTHER, LifecycleState: 'Pending:Wait', AvailabilityZone: 'us-east-1b', HealthStatus: 'Healthy', ProtectedFromScaleIn: false },
            { InstanceId: 'i-0dead00000000beef', LifecycleState: 'Terminating:Wait', AvailabilityZone: 'us-east-1b', HealthStatus: 'Unhealthy', ProtectedFromScaleIn: false },
          ],
        },
      ],
    });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            { InstanceId: NAT, PrivateIpAddress: '10.0.0.10', Placement: { AvailabilityZone: 'us-east-1a' } },
            { InstanceId: OTHER, PrivateIpAddress: '10.0.1.10', Placement: { AvailabilityZone: 'us-east-1b' } },
          ],
        },
      ],
    });
    dynamoDb.on(PutItemCommand).resolves({});
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  });

  it('writes a failing beat from the first release’s body (no status), then wakes reconcile with a verified self-report', async () => {
    const response = await intake().handler(firstRelease);
    expect(response.statusCode).toBe(202);
    expect(autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [NAT] });
    expect(written()).toHaveLength(1);
    expect(written()[0]!.TableName).toBe(TABLE);
    expect(beats()).toEqual([
      expect.objectContaining({ pk: NAT, atMs: NOW.getTime(), status: 0, groupName: GROUP, availabilityZone: 'us-east-1a', failedProbes: ['forward-path'] }),
    ]);
    expect(lambda.commandCalls(InvokeCommand)[0]!.args[0].input).toMatchObject({ FunctionName: 'natbeat-nat-reconcile', InvocationType: 'Event' });
    expect(verifiedSelfReport.parse(invoked()[0])).toMatchObject({
      source: 'natbeat.intake',
      time: NOW.toISOString(),
      detail: { instanceId: NAT, groupName: GROUP, availabilityZone: 'us-east-1a', status: 'failing', failedProbes: ['forward-path'], callerArn: natArn() },
    });
  });

  it('writes the beat before it wakes anything', async () => {
    const order: string[] = [];
    dynamoDb.on(PutItemCommand).callsFake(() => void order.push('put'));
    lambda.on(InvokeCommand).callsFake(() => (order.push('invoke'), { StatusCode: 202 }));
    await intake().handler(from(NAT, { status: 'failing', unreachablePeers: [OTHER] }));
    expect(order).toEqual(['put', 'put', 'invoke', 'invoke']);
  });

  it('writes a healthy beat and a witness item from the documented heartbeat, wakes a witness report, and answers with the peers', async () => {
    const response = await intake().handler(heartbeat);
    expect(response.statusCode).toBe(202);
    expect(beats()).toEqual([expect.objectContaining({ pk: NAT, status: 1, availabilityZone: 'us-east-1a' })]);
    expect(beats()[0]!.failedProbes).toBeUndefined();
    expect(witnesses()).toEqual([expect.objectContaining({ pk: OTHER, witnessId: NAT, atMs: NOW.getTime() })]);
    expect(invoked()).toHaveLength(1);
    expect(verifiedWitnessReport.parse(invoked()[0]).detail).toMatchObject({ witnessId: NAT, unreachablePeers: [OTHER], groupName: GROUP });
    // Every other NAT in service or launching, with its private address; not the caller, not one leaving.
    expect(answerOf(response)).toEqual({ status: 'accepted', instanceId: NAT, peers: [{ instanceId: OTHER, address: '10.0.1.10', availabilityZone: 'us-east-1b' }] });
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([{ Name: 'instance-id', Values: [NAT, OTHER] }]);
  });

  it('writes only the caller’s beat for a body that names another instance', async () => {
    const { handler, logs } = intake();
    const forged = { status: 'failing', instanceId: OTHER, groupName: GROUP, availabilityZone: 'us-east-1b', detail: { instanceId: OTHER, failedProbes: ['egress'] } };
    expect((await handler(from(NAT, forged))).statusCode).toBe(202);
    expect(autoScaling.commandCalls(DescribeAutoScalingInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([[NAT]]);
    expect(written().map((i) => i.Item!.pk)).toEqual([{ S: NAT }]);
    expect(beats()[0]).toMatchObject({ pk: NAT, availabilityZone: 'us-east-1a' });
    expect(invoked()[0].detail).toMatchObject({ instanceId: NAT, availabilityZone: 'us-east-1a' });
    expect(JSON.stringify(invoked())).not.toContain(OTHER);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', extra: { instanceId: NAT, claimed: OTHER } }));
  });

  it('ignores a witness naming itself, non-instance ids and repeats: its beat is written, no witness item, nothing woken', async () => {
    const { handler } = intake();
    expect((await handler(from(NAT, { status: 'ok', unreachablePeers: [NAT, 'not-an-instance', 'i-XYZ'] }))).statusCode).toBe(202);
    expect(beats()).toHaveLength(1);
    expect(witnesses()).toEqual([]);
    expect(invoked()).toEqual([]);
  });

  it('writes one item per valid named peer, each (witness, peer) at most once per 2 s, and wakes only for a newly named peer', async () => {
    const clock = { now: NOW.getTime() };
    const { handler } = intake(clock);
    expect((await handler(from(NAT, { status: 'ok', unreachablePeers: [OTHER, OTHER, THIRD] }))).statusCode).toBe(202);
    expect(witnesses().map((w) => w.pk)).toEqual([OTHER, THIRD]);
    expect(invoked()).toHaveLength(1);
    clock.now += 1_000;
    expect((await handler(from(NAT, { status: 'ok', unreachablePeers: [OTHER, THIRD] }))).statusCode).toBe(202);
    // Within 2 s: the beat, no new witness items; the peers were already announced: no wake.
    expect(witnesses()).toHaveLength(2);
    expect(beats()).toHaveLength(2);
    expect(invoked()).toHaveLength(1);
    clock.now += 1_000;
    expect((await handler(from(NAT, { status: 'ok', unreachablePeers: [OTHER] }))).statusCode).toBe(202);
    expect(witnesses()).toHaveLength(3);
    expect(invoked()).toHaveLength(1);
    // THIRD left the list; named again, it is news again.
    clock.now += 2_000;
    expect((await handler(from(NAT, { status: 'ok', unreachablePeers: [OTHER, THIRD] }))).statusCode).toBe(202);
    expect(invoked()).toHaveLength(2);
    expect(invoked()[1].detail.unreachablePeers).toEqual([OTHER, THIRD]);
  });

  it('leaves a witness wake skipped by its 2 s limit for the next body', async () => {
    const clock = { now: NOW.getTime() };
    const { handler } = intake(clock);
    await handler(from(NAT, { status: 'ok', unreachablePeers: [OTHER] }));
    clock.now += 1_000;
    await handler(from(NAT, { status: 'ok', unreachablePeers: [OTHER, THIRD] }));
    expect(invoked()).toHaveLength(1);
    clock.now += 1_000;
    await handler(from(NAT, { status: 'ok', unreachablePeers: [OTHER, THIRD] }));
    expect(invoked()).toHaveLength(2);
    expect(invoked()[1].detail.unreachablePeers).toEqual([OTHER, THIRD]);
  });

  it('accepts one body per instance per second (429 in between, nothing written) and wakes a self-report at most once per 10 s', async () => {
    const clock = { now: NOW.getTime() };
    const { handler } = intake(clock);
    const failing = from(NAT, { status: 'failing', failedProbes: ['egress'] });
    expect((await handler(failing)).statusCode).toBe(202);
    clock.now += 999;
    const refused = await handler(failing);
    expect(refused.statusCode).toBe(429);
    expect(written()).toHaveLength(1);
    clock.now += 1;
    expect((await handler(failing)).statusCode).toBe(202);
    expect(beats()).toHaveLength(2);
    expect(invoked()).toHaveLength(1);
    // Another NAT is limited on its own.
    expect((await handler(from(OTHER, { status: 'failing' }))).statusCode).toBe(202);
    expect(invoked()).toHaveLength(2);
    clock.now += 9_000;
    expect((await handler(failing)).statusCode).toBe(202);
    expect(invoked().filter((e) => e.detail.instanceId === NAT)).toHaveLength(2);
  });

  it('caches group membership per instance for 60 s and the peer list for 30 s', async () => {
    const clock = { now: NOW.getTime() };
    const { handler } = intake(clock);
    for (let i = 0; i < 30; i++) {
      expect((await handler(from(NAT, { status: 'ok' }))).statusCode).toBe(202);
      clock.now += 2_000;
    }
    // 60 s of beats every 2 s: one membership look-up; peers read at 0 s and 30 s.
    expect(autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(1);
    expect(autoScaling.commandCalls(DescribeAutoScalingGroupsCommand)).toHaveLength(2);
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
    await handler(from(NAT, { status: 'ok' }));
    expect(autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(2);
  });

  it('answers 503 and wakes nothing when the report log cannot be written; the retry is not refused as too soon', async () => {
    const clock = { now: NOW.getTime() };
    const { handler, logs } = intake(clock);
    dynamoDb.on(PutItemCommand).rejects(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' }));
    const response = await handler(from(NAT, { status: 'failing', unreachablePeers: [OTHER] }));
    expect(response.statusCode).toBe(503);
    expect(invoked()).toEqual([]);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'could not write the report log; nothing woken' }));
    dynamoDb.on(PutItemCommand).resolves({});
    clock.now += 100;
    expect((await handler(from(NAT, { status: 'failing', unreachablePeers: [OTHER] }))).statusCode).toBe(202);
    expect(invoked().map((e) => e['detail-type']).sort()).toEqual(['Verified NAT Self-Report', 'Verified Witness Report']);
  });

  it('answers 503 when even one witness item fails, and wakes nothing', async () => {
    dynamoDb.on(PutItemCommand, { Item: { pk: { S: OTHER } } } as never).rejects(Object.assign(new Error('down'), { name: 'InternalServerError' }));
    const response = await intake().handler(from(NAT, { status: 'failing', unreachablePeers: [OTHER] }));
    expect(response.statusCode).toBe(503);
    expect(invoked()).toEqual([]);
  });

  it('answers 503 when membership cannot be checked, writing and waking nothing', async () => {
    autoScaling.on(DescribeAutoScalingInstancesCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    expect((await intake().handler(heartbeat)).statusCode).toBe(503);
    expect(written()).toEqual([]);
    expect(invoked()).toEqual([]);
  });

  it('still accepts, without peers, when the peer list cannot be read', async () => {
    ec2.on(DescribeInstancesCommand).rejects(Object.assign(new Error('Request limit exceeded'), { name: 'RequestLimitExceeded' }));
    const { handler, logs } = intake();
    const response = await handler(from(NAT, { status: 'ok' }));
    expect(response.statusCode).toBe(202);
    expect(answerOf(response)).toEqual({ status: 'accepted', instanceId: NAT });
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'could not list the peers; answering without them' }));
  });

  it('accepts the beat when reconcile cannot be woken, and wakes on the next failing beat', async () => {
    const clock = { now: NOW.getTime() };
    const { handler } = intake(clock);
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    expect((await handler(from(NAT, { status: 'failing' }))).statusCode).toBe(202);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    clock.now += 5_000;
    expect((await handler(from(NAT, { status: 'failing' }))).statusCode).toBe(202);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
  });

  it.each([
    ['another role of the same account', natArn(NAT, 'web-server-role'), /does not use this deployment's NAT role/],
    ['the NAT role name in another account', natArn(NAT, 'natbeat-nat-role', '210987654321'), /another account/],
    ['an IAM user', `arn:aws:iam::${ACCOUNT}:user/admin`, /not an instance role session/],
    ['a role session that is not an instance', `arn:aws:sts::${ACCOUNT}:assumed-role/natbeat-nat-role/botocore-session-1780315200`, /not an instance role session/],
    ['another partition', `arn:aws-cn:sts::${ACCOUNT}:assumed-role/natbeat-nat-role/${NAT}`, /another account or partition/],
    ['a session name with a suffix', `${natArn()}/extra`, /not an instance role session/],
  ])('refuses %s with 403 and calls no AWS API', async (_name, userArn, reason) => {
    const { handler, logs } = intake();
    const response = await handler(request(userArn));
    expect(response.statusCode).toBe(403);
    expect(answerOf(response).message).toMatch(reason);
    expect(awsCalls()).toBe(0);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'report refused' }));
  });

  it('refuses a caller whose verified account differs from the one in its ARN', async () => {
    const response = await intake().handler(request(natArn(), undefined, (e) => (e.requestContext.authorizer.iam.accountId = '210987654321')));
    expect(response.statusCode).toBe(403);
    expect(awsCalls()).toBe(0);
  });

  it('refuses an instance of the NAT role that is not in the deployment’s groups, writing and waking nothing', async () => {
    const response = await intake().handler(from(THIRD, { status: 'failing' }));
    expect(response.statusCode).toBe(403);
    expect(written()).toEqual([]);
    expect(invoked()).toEqual([]);
  });

  it.each<[string, unknown, number]>([
    ['null', null, 403],
    ['an empty object', {}, 403],
    ['a string', 'please reconcile', 403],
    ['an EventBridge event', { source: 'natbeat', 'detail-type': 'Reconcile Request' }, 403],
    ['a Function URL request without IAM auth (AuthType NONE)', { ...structuredClone(heartbeat), requestContext: { ...structuredClone(heartbeat.requestContext), authorizer: undefined } }, 403],
    ['a GET', request(natArn(), undefined, (e) => (e.requestContext.http.method = 'GET')), 400],
    ['a body that is not JSON', request(natArn(), '{"status": "ok", '), 400],
    ['a body with an unknown status', request(natArn(), { status: 'fine' }), 400],
    ['a body whose unreachablePeers is not a list', request(natArn(), { status: 'ok', unreachablePeers: OTHER }), 400],
    ['a body naming 17 peers', request(natArn(), { status: 'ok', unreachablePeers: Array.from({ length: 17 }, (_, i) => `i-${String(i).padStart(17, '0')}`) }), 400],
    ['a body with a thousand probes', request(natArn(), { failedProbes: Array.from({ length: 1000 }, (_, i) => `p${i}`) }), 400],
    ['a body over 8 KB', request(natArn(), { failedProbes: ['x'], pad: 'y'.repeat(9000) }), 400],
    ['a JSON array', request(natArn(), '["ok"]'), 400],
  ])('answers %s with %i, writing and waking nothing', async (_name, event, status) => {
    const response = await intake().handler(event);
    expect(response.statusCode).toBe(status);
    expect(written()).toEqual([]);
    expect(invoked()).toEqual([]);
  });

  it('reads a base64 body and an empty body (a bare "I failed")', async () => {
    const b64 = request(natArn(), undefined, (e) => {
      e.body = Buffer.from(JSON.stringify({ status: 'failing', failedProbes: ['nat-rule'] })).toString('base64');
      e.isBase64Encoded = true;
    });
    const clock = { now: NOW.getTime() };
    const { handler } = intake(clock);
    expect((await handler(b64)).statusCode).toBe(202);
    expect(invoked()[0].detail.failedProbes).toEqual(['nat-rule']);
    clock.now += 10_000;
    expect((await handler(request(natArn(), ''))).statusCode).toBe(202);
    expect(beats()[1]).toMatchObject({ status: 0 });
    expect(invoked()[1].detail.failedProbes).toEqual([]);
  });

  it('never throws and never calls AWS for arbitrary input, and acts only for this role’s instance sessions', async () => {
    const expected = identityFromRoleArn(ROLE_ARN)!;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.anything(),
          fc.string().map((userArn) => request(userArn)),
          fc.anything().map((body) => request(natArn(), JSON.stringify(body) ?? '')),
        ),
        async (event) => {
          for (const client of [autoScaling, ec2, dynamoDb, lambda]) client.resetHistory();
          const response = await intake().handler(event);
          const verdict = verifyCaller(event, expected);
          if (!verdict.ok) expect(awsCalls()).toBe(0);
          expect([202, 400, 403]).toContain(response.statusCode);
          // Whatever the body, only the caller's own beat is ever written under the caller's key.
          for (const beat of beats()) expect(beat.pk).toBe(verdict.ok ? verdict.instanceId : 'none');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses to run on bad settings, naming them', async () => {
    const settings = intakeSettings({ [INTAKE_ENV.natRoleArn]: 'natbeat-nat-role' });
    expect(settings).toEqual(
      new Error(
        'Invalid intake configuration: NATBEAT_NAT_ROLE_ARN="natbeat-nat-role": must be an IAM role ARN; NATBEAT_RECONCILE_FUNCTION: must name the reconcile function; NATBEAT_GROUP_NAMES: must list the managed groups; NATBEAT_REPORT_TABLE="": must name the report log table',
      ),
    );
    expect(identityFromRoleArn(ROLE_ARN)).toEqual({ partition: 'aws', accountId: ACCOUNT, natRoleName: 'natbeat-nat-role' });
    const unused = () => Promise.reject(new Error('no AWS call expected'));
    const handler = createIntakeHandler({ settings, autoScaling: unused, ec2: unused, dynamoDb: unused, lambda: unused, logger: { error: () => undefined } as never, now: () => NOW });
    expect((await handler(heartbeat)).statusCode).toBe(500);
    expect(awsCalls()).toBe(0);
  });
});
