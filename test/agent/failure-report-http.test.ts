/** The signed report over real HTTP, checked by a server that verifies SigV4 as Lambda does. */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureReporter, SignedUrlSender } from '../../agent/failure-report';
import { FakeIntake, TEST_CREDENTIALS } from './helpers/fake-intake';

const AT = new Date('2026-01-01T00:00:12Z');

describe('Class: SignedUrlSender', () => {
  let intake: FakeIntake;
  beforeEach(async () => (intake = await FakeIntake.start('eu-west-1')));
  afterEach(() => intake.stop());

  /** Signed with a CloudWatch client's own credential provider and hash, as the agent does. */
  function sender(credentials = TEST_CREDENTIALS, region = 'eu-west-1') {
    const client = new CloudWatchClient({ region, credentials });
    return new SignedUrlSender(intake.endpoint, { region, credentials: client.config.credentials, sha256: client.config.sha256 });
  }

  it('POSTs the report signed for the lambda service: the intake accepts it', async () => {
    const reporter = new FailureReporter(sender(), { maxAttempts: 1 });
    expect(await reporter.report(['forward-path'], AT, AbortSignal.timeout(5_000))).toEqual({ ok: true, attempts: 1 });
    expect(intake.refused).toEqual([]);
    expect(intake.reports).toEqual([expect.objectContaining({ body: { failedProbes: ['forward-path'], at: AT.toISOString() } })]);
  });

  it('is refused (403, not retried) when signed with other credentials or for another region', async () => {
    for (const bad of [sender({ accessKeyId: 'test', secretAccessKey: 'wrong' }), sender(TEST_CREDENTIALS, 'us-east-1')]) {
      const reporter = new FailureReporter(bad, { maxAttempts: 3, sleep: async () => undefined });
      expect(await reporter.report(['forward-path'], AT, AbortSignal.timeout(5_000))).toMatchObject({ ok: false, attempts: 1, error: expect.stringContaining('403') });
    }
    expect(intake.reports).toEqual([]);
    expect(intake.refused).toEqual(['signature does not match', 'signature does not match']);
  });

  it('retries a throttled intake (429) within its bound', async () => {
    intake.status = 429;
    const reporter = new FailureReporter(sender(), { maxAttempts: 2, sleep: async () => undefined });
    expect(await reporter.report(['egress'], AT, AbortSignal.timeout(5_000))).toMatchObject({ ok: false, attempts: 2 });
  });
});
