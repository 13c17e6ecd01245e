/** The real Lambda client over HTTP (no client mock in this file: it would stub every LambdaClient). */
import { describe, expect, it } from 'vitest';
import { createLambdaClient, failureReport, FailureReporter } from '../../agent/failure-report';
import { FakeLambda } from './helpers/fake-lambda';

const SOURCE = { instanceId: 'i-0abc123def4567890', groupName: 'nat-asg', availabilityZone: 'eu-west-1a' };
const AT = new Date('2026-01-01T00:00:12Z');

describe('Function: createLambdaClient', () => {
  it('sends through AWS_ENDPOINT_URL_LAMBDA, once: the SDK retries are off', async () => {
    const fake = await FakeLambda.start();
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_LAMBDA: fake.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    try {
      const client = await createLambdaClient('eu-west-1');
      const reporter = new FailureReporter(client, 'natbeat-reconcile', SOURCE, { maxAttempts: 1 });
      expect(await reporter.report(['forward-path'], AT, AbortSignal.timeout(5_000))).toEqual({ ok: true, attempts: 1 });
      expect(fake.invokes).toEqual([
        { functionName: 'natbeat-reconcile', invocationType: 'Event', payload: failureReport(SOURCE, ['forward-path'], AT), at: expect.any(Number) },
      ]);
      // A server error with our own bound of 1: exactly one more request, not the SDK's default 3.
      fake.status = 500;
      expect(await reporter.report(['forward-path'], AT, AbortSignal.timeout(5_000))).toMatchObject({ ok: false, attempts: 1 });
      expect(fake.invokes).toHaveLength(2);
      client.destroy();
    } finally {
      process.env = saved;
      await fake.stop();
    }
  });

});
