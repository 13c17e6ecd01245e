/**
 * The intake believes only the caller Lambda verified (SigV4, AuthType AWS_IAM): this
 * deployment's NAT role, this account, an instance-id session, an instance of the managed groups.
 * Events are shaped exactly like AWS's Function URL request payload (format 2.0).
 */
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { identityFromRoleArn, verifyCaller } from '../../lambdas/core/caller-identity';
import { verifiedSelfReport } from '../../lambdas/core/events';
import { createIntakeHandler, intakeSettings, INTAKE_ENV } from '../../lambdas/intake/handler';
import documented from '../fixtures/events/function-url-iam.json';

const ACCOUNT = '123456789012';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/natbeat/natbeat-nat-role`;
const NAT = 'i-0abc123def4567890';
const OTHER = 'i-0fedcba9876543210';
const GROUP = 'natbeat-nat';
const NOW = new Date('2026-06-01T12:00:00Z');

const autoScaling = mockClient(AutoScalingClient);
const lambda = mockClient(LambdaClient);

type Event = typeof documented;
/** The documented event with its caller and body replaced. */
function request(userArn: string, body: unknown = { failedProbes: ['forward-path'] }, patch: (e: Event) => void = () => undefined): Event {
  const event = structuredClone(documented);
  event.requestContext.authorizer.iam.userArn = userArn;
  event.body = typeof body === 'string' ? body : JSON.stringify(body);
  patch(event);
  return event;
}
const natArn = (instanceId = NAT, role = 'natbeat-nat-role', account = ACCOUNT) => `arn:aws:sts::${account}:assumed-role/${role}/${instanceId}`;

function intake(clock = { now: NOW.getTime() }) {
  const logs: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  const log = (level: string) => (message: string, extra?: Record<string, unknown>) => void logs.push({ level, message, extra });
  const handler = createIntakeHandler({
    settings: intakeSettings({ [INTAKE_ENV.natRoleArn]: ROLE_ARN, [INTAKE_ENV.reconcileFunction]: 'natbeat-nat-reconcile', [INTAKE_ENV.groupNames]: GROUP }),
    autoScaling: () => new AutoScalingClient({ region: 'us-east-1' }),
    lambda: () => new LambdaClient({ region: 'us-east-1' }),
    logger: { info: log('info'), warn: log('warn'), error: log('error') } as never,
    now: () => new Date(clock.now),
  });
  return { handler, logs, clock };
}

const invokedEvent = (call = 0) => JSON.parse(new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[call]!.args[0].input.Payload as Uint8Array));
const awsCalls = () => autoScaling.calls().length + lambda.calls().length;

describe('Function: intake handler', () => {
  beforeEach(() => {
    autoScaling.reset();
    lambda.reset();
    autoScaling.on(DescribeAutoScalingInstancesCommand).callsFake((input: { InstanceIds: string[] }) => ({
      AutoScalingInstances: input.InstanceIds.filter((id) => id === NAT || id === OTHER).map((id) => ({
        InstanceId: id,
        AutoScalingGroupName: id === NAT ? GROUP : 'someone-elses-group',
        AvailabilityZone: 'us-east-1a',
        LifecycleState: 'InService',
        HealthStatus: 'Healthy',
        ProtectedFromScaleIn: false,
      })),
    }));
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
  });

  it('accepts the documented event from a NAT of the deployment and wakes reconcile with a verified self-report', async () => {
    const response = await intake().handler(documented);
    expect(response.statusCode).toBe(202);
    expect(autoScaling.commandCalls(DescribeAutoScalingInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [NAT] });
    expect(lambda.commandCalls(InvokeCommand)[0]!.args[0].input).toMatchObject({ FunctionName: 'natbeat-nat-reconcile', InvocationType: 'Event' });
    const event = verifiedSelfReport.parse(invokedEvent());
    expect(event).toMatchObject({
      source: 'natbeat.intake',
      time: NOW.toISOString(),
      detail: { instanceId: NAT, groupName: GROUP, availabilityZone: 'us-east-1a', failedProbes: ['forward-path'], callerArn: natArn() },
    });
  });

  it('takes the instance from the caller, never from a forged body naming another instance', async () => {
    const { handler, logs } = intake();
    const forged = { instanceId: OTHER, groupName: GROUP, availabilityZone: 'us-east-1b', detail: { instanceId: OTHER, failedProbes: ['egress'] } };
    expect((await handler(request(natArn(), forged))).statusCode).toBe(202);
    expect(autoScaling.commandCalls(DescribeAutoScalingInstancesCommand).map((c) => c.args[0].input.InstanceIds)).toEqual([[NAT]]);
    expect(invokedEvent().detail).toMatchObject({ instanceId: NAT, availabilityZone: 'us-east-1a' });
    expect(JSON.stringify(invokedEvent())).not.toContain(OTHER);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', extra: { instanceId: NAT, claimed: OTHER } }));
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
    expect(JSON.parse(response.body).message).toMatch(reason);
    expect(awsCalls()).toBe(0);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'report refused' }));
  });

  it('refuses a caller whose verified account differs from the one in its ARN', async () => {
    const response = await intake().handler(request(natArn(), undefined, (e) => (e.requestContext.authorizer.iam.accountId = '210987654321')));
    expect(response.statusCode).toBe(403);
    expect(awsCalls()).toBe(0);
  });

  it('refuses an instance of the NAT role that is not in the deployment’s groups, and passes nothing on', async () => {
    const response = await intake().handler(request(natArn(OTHER)));
    expect(response.statusCode).toBe(403);
    expect(lambda.commandCalls(InvokeCommand)).toEqual([]);
  });

  it.each<[string, unknown, number]>([
    ['null', null, 403],
    ['an empty object', {}, 403],
    ['a string', 'please reconcile', 403],
    ['an EventBridge event', { source: 'natbeat', 'detail-type': 'Reconcile Request' }, 403],
    ['a Function URL request without IAM auth (AuthType NONE)', { ...structuredClone(documented), requestContext: { ...structuredClone(documented.requestContext), authorizer: undefined } }, 403],
    ['a GET', request(natArn(), undefined, (e) => (e.requestContext.http.method = 'GET')), 400],
    ['a body that is not JSON', request(natArn(), '{"failedProbes": [', () => undefined), 400],
    ['a body with a thousand probes', request(natArn(), { failedProbes: Array.from({ length: 1000 }, (_, i) => `p${i}`) }), 400],
    ['a body over 8 KB', request(natArn(), { failedProbes: ['x'], pad: 'y'.repeat(9000) }), 400],
  ])('answers %s with %i, without crashing or acting', async (_name, event, status) => {
    const response = await intake().handler(event);
    expect(response.statusCode).toBe(status);
    expect(lambda.commandCalls(InvokeCommand)).toEqual([]);
  });

  it('reads a base64 body and an empty body (a bare "I failed")', async () => {
    const b64 = request(natArn(), undefined, (e) => {
      e.body = Buffer.from(JSON.stringify({ failedProbes: ['nat-rule'] })).toString('base64');
      e.isBase64Encoded = true;
    });
    const clock = { now: NOW.getTime() };
    const { handler } = intake(clock);
    expect((await handler(b64)).statusCode).toBe(202);
    expect(invokedEvent().detail.failedProbes).toEqual(['nat-rule']);
    clock.now += 10_000;
    expect((await handler(request(natArn(), ''))).statusCode).toBe(202);
    expect(invokedEvent(1).detail.failedProbes).toEqual([]);
  });

  it('accepts one report per instance per 10 s (429 in between) and answers 503 when AWS cannot be asked', async () => {
    const clock = { now: NOW.getTime() };
    const { handler } = intake(clock);
    expect((await handler(documented)).statusCode).toBe(202);
    clock.now += 4_000;
    expect((await handler(documented)).statusCode).toBe(429);
    clock.now += 6_000;
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    expect((await handler(documented)).statusCode).toBe(503);
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    // A failed pass-on does not count: the agent's retry gets through.
    expect((await handler(documented)).statusCode).toBe(202);
  });

  it('never throws and never calls AWS for arbitrary input, and acts only for this role’s instance sessions', async () => {
    const expected = identityFromRoleArn(ROLE_ARN)!;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.string().map((userArn) => request(userArn))), async (event) => {
        autoScaling.resetHistory();
        lambda.resetHistory();
        const response = await intake().handler(event);
        const verdict = verifyCaller(event, expected);
        if (!verdict.ok) expect(awsCalls()).toBe(0);
        expect([202, 400, 403]).toContain(response.statusCode);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses to run on bad settings, naming them', () => {
    expect(intakeSettings({ [INTAKE_ENV.natRoleArn]: 'natbeat-nat-role' })).toEqual(
      new Error(
        'Invalid intake configuration: NATBEAT_NAT_ROLE_ARN="natbeat-nat-role": must be an IAM role ARN; NATBEAT_RECONCILE_FUNCTION: must name the reconcile function; NATBEAT_GROUP_NAMES: must list the managed groups',
      ),
    );
    expect(identityFromRoleArn(ROLE_ARN)).toEqual({ partition: 'aws', accountId: ACCOUNT, natRoleName: 'natbeat-nat-role' });
  });
});
