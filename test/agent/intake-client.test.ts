/** The heartbeat client: signed bodies over real HTTP, and its retries within the caller's deadline. */
import { Hash } from '@smithy/hash-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IntakeReportBody } from '../../common/intake-contract';
import { readReportBody } from '../../lambdas/core/caller-identity';
import { heartbeatBody, IntakeClient, peersOfAnswer, regionOfUrl, SignedUrlSender, TOO_SOON_BACKOFF_MS, type IntakeSender } from '../../agent/intake-client';
import { FakeIntake, TEST_CREDENTIALS } from './helpers/fake-intake';

const AT = new Date('2026-01-01T00:00:12Z');
const PEER = { instanceId: 'i-0fedcba9876543210', address: '10.0.1.10', availabilityZone: 'us-east-1b' };

describe('Function: heartbeatBody', () => {
  it('says how this NAT routes, its failed probes when failing, the peers it cannot reach, and no instance of its own', () => {
    const failing = heartbeatBody('failing', ['nat-rule', 'forward-path'], [PEER.instanceId], AT);
    expect(failing).toEqual({ status: 'failing', failedProbes: ['nat-rule', 'forward-path'], unreachablePeers: [PEER.instanceId], at: AT.toISOString() });
    expect(heartbeatBody('ok', ['ignored'], [], AT)).toEqual({ status: 'ok', unreachablePeers: [], at: AT.toISOString() });
    // What the intake reads back.
    expect(readReportBody({ body: JSON.stringify(failing) })).toEqual({ ok: true, status: 'failing', failedProbes: ['nat-rule', 'forward-path'], unreachablePeers: [PEER.instanceId] });
  });

  it('stays within the intake’s limits whatever the probes and peers are', () => {
    const body = heartbeatBody('failing', Array.from({ length: 20 }, (_, i) => `probe-${i}-${'x'.repeat(80)}`), Array.from({ length: 20 }, (_, i) => `i-${String(i).padStart(17, '0')}`), AT);
    expect(body.failedProbes).toHaveLength(16);
    expect(body.unreachablePeers).toHaveLength(16);
    expect(readReportBody({ body: JSON.stringify(body) }).ok).toBe(true);
  });
});

describe('Function: peersOfAnswer', () => {
  it('keeps well-formed peers only, and says "none" for an answer without a list', () => {
    expect(peersOfAnswer({ peers: [PEER, { ...PEER, address: 'not-an-ip' }, null, { instanceId: 'i-1' }] })).toEqual([PEER]);
    expect(peersOfAnswer({ status: 'accepted' })).toBeUndefined();
    expect(peersOfAnswer(null)).toBeUndefined();
  });
  it('reads the region of a Function URL', () => {
    expect(regionOfUrl('https://abc123.lambda-url.eu-west-1.on.aws/')).toBe('eu-west-1');
    expect(regionOfUrl('http://127.0.0.1:1234/')).toBeUndefined();
  });
});

describe('Class: SignedUrlSender (real HTTP, SigV4 checked as Lambda does)', () => {
  let intake: FakeIntake;
  beforeEach(async () => (intake = await FakeIntake.start('eu-west-1')));
  afterEach(() => intake.stop());

  const sender = (credentials = TEST_CREDENTIALS, region = 'eu-west-1') =>
    new SignedUrlSender(intake.endpoint, { region, credentials: () => Promise.resolve(credentials), sha256: Hash.bind(null, 'sha256') });

  it('POSTs the body signed for the lambda service and returns the peers of the answer', async () => {
    intake.accepted = { status: 'accepted', instanceId: 'i-0abc123def4567890', peers: [PEER] };
    const body = heartbeatBody('ok', [], [], AT);
    const outcome = await new IntakeClient(sender(), { maxAttempts: 1 }).send(body, AbortSignal.timeout(5_000));
    expect(outcome).toEqual({ ok: true, attempts: 1, accepted: { status: 'accepted', instanceId: 'i-0abc123def4567890', peers: [PEER] } });
    expect(intake.refused).toEqual([]);
    expect(intake.reports).toEqual([expect.objectContaining({ body })]);
  });

  it('is refused (403, not retried) when signed with other credentials or for another region', async () => {
    for (const bad of [sender({ accessKeyId: 'test', secretAccessKey: 'wrong' }), sender(TEST_CREDENTIALS, 'us-east-1')]) {
      const outcome = await new IntakeClient(bad, { maxAttempts: 3, sleep: async () => undefined }).send(heartbeatBody('ok', [], [], AT), AbortSignal.timeout(5_000));
      expect(outcome).toMatchObject({ ok: false, attempts: 1, httpStatus: 403, error: expect.stringContaining('403') });
    }
    expect(intake.reports).toEqual([]);
  });
});

describe('Class: IntakeClient', () => {
  const body: IntakeReportBody = heartbeatBody('failing', ['egress'], [], AT);
  const refusal = (status: number) => Object.assign(new Error(`intake answered ${status}`), { $metadata: { httpStatusCode: status } });

  function client(answers: (Error | undefined)[], maxAttempts = 3) {
    const sleeps: number[] = [];
    const send = vi.fn(async () => {
      const next = answers.shift();
      if (next) throw next;
      return { status: 'accepted' as const, instanceId: 'i-0abc' };
    });
    const sender: IntakeSender = { send };
    return { send, sleeps, client: new IntakeClient(sender, { maxAttempts, backoffMs: 100, sleep: async (ms) => void sleeps.push(ms) }) };
  }

  it('retries server errors and network failures with doubling back-off, up to its attempts', async () => {
    const { client: c, sleeps, send } = client([refusal(503), new TypeError('fetch failed')]);
    expect(await c.send(body, AbortSignal.timeout(5_000))).toMatchObject({ ok: true, attempts: 3 });
    expect(sleeps).toEqual([100, 200]);
    expect(send).toHaveBeenCalledTimes(3);
  });

  it('waits a second after a 429 (a body accepted less than a second ago), then sends again', async () => {
    const { client: c, sleeps } = client([refusal(429)]);
    expect(await c.send(body, AbortSignal.timeout(5_000))).toMatchObject({ ok: true, attempts: 2 });
    expect(sleeps).toEqual([TOO_SOON_BACKOFF_MS]);
  });

  it('does not retry a 403 or a 400: a retry would be refused the same way', async () => {
    for (const status of [403, 400]) {
      const { client: c, send } = client([refusal(status)]);
      expect(await c.send(body, AbortSignal.timeout(5_000))).toMatchObject({ ok: false, attempts: 1, httpStatus: status });
      expect(send).toHaveBeenCalledTimes(1);
    }
  });

  it('gives up after its attempts, and at once when the deadline has passed', async () => {
    const { client: c } = client([refusal(500), refusal(500), refusal(500), refusal(500)]);
    expect(await c.send(body, AbortSignal.timeout(5_000))).toMatchObject({ ok: false, attempts: 3, httpStatus: 500 });
    const aborted = AbortSignal.abort();
    const { client: late, send } = client([]);
    expect(await late.send(body, aborted)).toMatchObject({ ok: false, attempts: 0, error: expect.stringContaining('deadline') });
    expect(send).not.toHaveBeenCalled();
  });
});
