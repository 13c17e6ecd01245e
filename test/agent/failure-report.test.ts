import { describe, expect, it } from 'vitest';
import { failureReport, FailureReporter, FailureReportRule, regionOfUrl, type FailureReport, type ReportSender } from '../../agent/failure-report';
import { readReportBody } from '../../lambdas/core/caller-identity';

const noSleep = async () => undefined;
const AT = new Date('2026-01-01T00:00:12Z');

function httpError(status: number, name = `Http${status}`) {
  return Object.assign(new Error(`intake answered ${status}`), { name, $metadata: { httpStatusCode: status } });
}

/** A sender that records each report and answers from `answers` in turn (undefined: accepted). */
function sender(...answers: (Error | undefined)[]): ReportSender & { sent: FailureReport[] } {
  const sent: FailureReport[] = [];
  return {
    sent,
    send: async (report) => {
      sent.push(report);
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (answer) throw answer;
    },
  };
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
  it('says which probes failed and when, and nothing about any instance: the intake knows the caller', () => {
    const report = failureReport(['nat-rule', 'forward-path'], AT);
    expect(report).toEqual({ failedProbes: ['nat-rule', 'forward-path'], at: '2026-01-01T00:00:12.000Z' });
    expect(readReportBody({ body: JSON.stringify(report) })).toEqual({ ok: true, status: 'failing', failedProbes: ['nat-rule', 'forward-path'], unreachablePeers: [] });
  });

  it('stays within the intake’s limits whatever the probes are called', () => {
    const names = Array.from({ length: 20 }, (_, i) => `probe-${i}-${'x'.repeat(80)}`);
    const report = failureReport(names, AT);
    expect(report.failedProbes).toHaveLength(16);
    expect(readReportBody({ body: JSON.stringify(report) }).ok).toBe(true);
  });
});

describe('Class: FailureReporter', () => {
  it('sends the report once when the intake accepts it', async () => {
    const to = sender(undefined);
    const reporter = new FailureReporter(to);
    expect(await reporter.report(['forward-path'], AT, new AbortController().signal)).toEqual({ ok: true, attempts: 1 });
    expect(to.sent).toEqual([{ failedProbes: ['forward-path'], at: AT.toISOString() }]);
  });

  it('retries a throttled (429) or failed (5xx) report up to the attempt bound, then gives up without throwing', async () => {
    const to = sender(httpError(429, 'TooManyRequests'));
    const reporter = new FailureReporter(to, { maxAttempts: 3, sleep: noSleep });
    const outcome = await reporter.report(['egress'], AT, new AbortController().signal);
    expect(outcome).toMatchObject({ ok: false, attempts: 3, error: expect.stringContaining('429') });
    expect(to.sent).toHaveLength(3);
  });

  it('succeeds on a retry after a server error, backing off in between', async () => {
    const waits: number[] = [];
    const reporter = new FailureReporter(sender(httpError(503), undefined), { backoffMs: 100, sleep: async (ms) => void waits.push(ms) });
    expect(await reporter.report(['egress'], AT, new AbortController().signal)).toEqual({ ok: true, attempts: 2 });
    expect(waits).toEqual([100]);
  });

  it('does not retry a refused report (403: not a NAT of this deployment, or a bad signature)', async () => {
    const to = sender(httpError(403));
    const reporter = new FailureReporter(to, { sleep: noSleep });
    expect(await reporter.report(['egress'], AT, new AbortController().signal)).toMatchObject({ ok: false, attempts: 1, error: expect.stringContaining('403') });
    expect(to.sent).toHaveLength(1);
  });

  it('stops retrying once the cycle deadline has passed, and sends nothing when it already has', async () => {
    const deadline = new AbortController();
    const to: ReportSender & { calls: number } = {
      calls: 0,
      send: async () => {
        to.calls++;
        deadline.abort();
        throw httpError(503);
      },
    };
    const reporter = new FailureReporter(to, { maxAttempts: 5, sleep: noSleep });
    expect(await reporter.report(['egress'], AT, deadline.signal)).toMatchObject({ ok: false, attempts: 1, error: expect.stringContaining('deadline reached') });
    expect(to.calls).toBe(1);
    expect(await reporter.report(['egress'], AT, AbortSignal.abort())).toMatchObject({ ok: false, attempts: 0 });
    expect(to.calls).toBe(1);
  });

  it('survives a network error', async () => {
    const reporter = new FailureReporter(sender(new TypeError('fetch failed')), { maxAttempts: 2, sleep: noSleep });
    await expect(reporter.report(['egress'], AT, new AbortController().signal)).resolves.toMatchObject({ ok: false, attempts: 2, error: 'fetch failed' });
  });

  it('applies the rule: due once per failure episode', () => {
    const reporter = new FailureReporter(sender(undefined));
    expect([true, false, false, true, false].map((healthy) => reporter.due(healthy))).toEqual([false, true, false, false, true]);
  });
});

describe('Function: regionOfUrl', () => {
  it('takes the region from a Function URL', () => {
    expect(regionOfUrl('https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-gov-west-1.on.aws/')).toBe('us-gov-west-1');
    expect(regionOfUrl('https://example.com/')).toBeUndefined();
  });
});
