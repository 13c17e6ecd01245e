import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { agentFailureReport, reconcileTrigger } from '../../lambdas/core/events';
import {
  failureReport,
  FailureReporter,
  FailureReportRule,
  regionOfFunction,
} from '../../agent/failure-report';

const SOURCE = { instanceId: 'i-0abc123def4567890', groupName: 'nat-asg', availabilityZone: 'eu-west-1a' };
const lambda = mockClient(LambdaClient);
const noSleep = async () => undefined;
const AT = new Date('2026-01-01T00:00:12Z');

function serverError(status: number, name = 'ServiceException') {
  return Object.assign(new Error(`${name} (${status})`), { name, $metadata: { httpStatusCode: status } });
}

function sentPayload(call = 0): unknown {
  const input = lambda.commandCalls(InvokeCommand)[call]?.args[0].input;
  return JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array));
}

describe('Class: FailureReportRule', () => {
  it('reports on the first failing cycle of an episode only, and again after a recovery', () => {
    const rule = new FailureReportRule();
    const verdicts = [true, true, false, false, false, true, false, false, true, true, false];
    expect(verdicts.map((healthy) => rule.decide(healthy))).toEqual([false, false, true, false, false, false, true, false, false, false, true]);
  });

  it('counts a failing first cycle after start as an episode start', () => {
    const rule = new FailureReportRule();
    expect([false, false].map((healthy) => rule.decide(healthy))).toEqual([true, false]);
  });
});

describe('Function: failureReport', () => {
  it('builds the payload the controller accepts as an agent failure report', () => {
    const payload = failureReport(SOURCE, ['nat-rule', 'forward-path'], AT);
    expect(payload).toEqual({
      source: 'natbeat.agent',
      'detail-type': 'NAT Failure Report',
      detail: { ...SOURCE, failedProbes: ['nat-rule', 'forward-path'], at: '2026-01-01T00:00:12.000Z' },
    });
    expect(agentFailureReport.safeParse(payload).success).toBe(true);
    // The reconcile handler parses with the union: it must pick the agent branch, not reject it.
    expect(reconcileTrigger.parse(payload)).toMatchObject({ source: 'natbeat.agent', detail: { instanceId: SOURCE.instanceId } });
  });

  it('stays within the controller schema limits whatever the probes are called', () => {
    const names = Array.from({ length: 20 }, (_, i) => `probe-${i}-${'x'.repeat(80)}`);
    const payload = failureReport(SOURCE, names, AT);
    expect(payload.detail.failedProbes).toHaveLength(16);
    expect(agentFailureReport.safeParse(payload).success).toBe(true);
  });
});

describe('Class: FailureReporter', () => {
  beforeEach(() => lambda.reset());

  it('invokes the function asynchronously with the report as payload', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE);
    expect(await reporter.report(['forward-path'], AT, new AbortController().signal)).toEqual({ ok: true, attempts: 1 });
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
    expect(lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: 'natbeat-reconcile', InvocationType: 'Event' });
    const parsed = agentFailureReport.parse(sentPayload());
    expect(parsed.detail).toMatchObject({ ...SOURCE, failedProbes: ['forward-path'], at: AT.toISOString() });
  });

  it('retries a throttled or failed invoke up to the attempt bound, then gives up without throwing', async () => {
    lambda.on(InvokeCommand).rejects(serverError(429, 'TooManyRequestsException'));
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE, { maxAttempts: 3, sleep: noSleep });
    const outcome = await reporter.report(['egress'], AT, new AbortController().signal);
    expect(outcome).toMatchObject({ ok: false, attempts: 3 });
    expect(outcome.error).toContain('TooManyRequestsException');
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 3);
  });

  it('succeeds on a retry after a server error, backing off in between', async () => {
    lambda.on(InvokeCommand).rejectsOnce(serverError(500)).resolves({ StatusCode: 202 });
    const waits: number[] = [];
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE, {
      backoffMs: 100,
      sleep: async (ms) => void waits.push(ms),
    });
    expect(await reporter.report(['egress'], AT, new AbortController().signal)).toEqual({ ok: true, attempts: 2 });
    expect(waits).toEqual([100]);
  });

  it('does not retry a rejected invoke (no permission, no such function)', async () => {
    lambda.on(InvokeCommand).rejects(serverError(403, 'AccessDeniedException'));
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE, { sleep: noSleep });
    expect(await reporter.report(['egress'], AT, new AbortController().signal)).toMatchObject({ ok: false, attempts: 1, error: expect.stringContaining('AccessDenied') });
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
  });

  it('treats an answer other than 202 as not queued', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200 });
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE, { sleep: noSleep });
    expect(await reporter.report(['egress'], AT, new AbortController().signal)).toMatchObject({ ok: false, error: 'unexpected status 200' });
  });

  it('stops retrying once the cycle deadline has passed, and sends nothing when it already has', async () => {
    const deadline = new AbortController();
    lambda.on(InvokeCommand).callsFake(() => {
      deadline.abort();
      throw serverError(503);
    });
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE, { maxAttempts: 5, sleep: noSleep });
    expect(await reporter.report(['egress'], AT, deadline.signal)).toMatchObject({ ok: false, attempts: 1, error: expect.stringContaining('deadline reached') });
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);

    lambda.reset();
    expect(await reporter.report(['egress'], AT, AbortSignal.abort())).toMatchObject({ ok: false, attempts: 0 });
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 0);
  });

  it('survives a network error that is not an AWS error at all', async () => {
    lambda.on(InvokeCommand).rejects(new TypeError('fetch failed'));
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE, { maxAttempts: 2, sleep: noSleep });
    await expect(reporter.report(['egress'], AT, new AbortController().signal)).resolves.toMatchObject({ ok: false, attempts: 2, error: 'fetch failed' });
  });

  it('survives an SDK that cannot be loaded', async () => {
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE, {
      loadInvokeCommand: () => Promise.reject(new Error('module not found')),
    });
    await expect(reporter.report(['egress'], AT, new AbortController().signal)).resolves.toMatchObject({ ok: false, attempts: 0, error: expect.stringContaining('module not found') });
  });

  it('applies the rule: due once per failure episode', () => {
    const reporter = new FailureReporter(new LambdaClient({ region: 'eu-west-1' }), 'natbeat-reconcile', SOURCE);
    expect([true, false, false, true, false].map((healthy) => reporter.due(healthy))).toEqual([false, true, false, false, true]);
  });
});

describe('Function: regionOfFunction', () => {
  it('takes the region from a function ARN, else the fallback', () => {
    expect(regionOfFunction('arn:aws:lambda:us-gov-west-1:123456789012:function:reconcile', 'eu-west-1')).toBe('us-gov-west-1');
    expect(regionOfFunction('reconcile', 'eu-west-1')).toBe('eu-west-1');
  });
});
