import { describe, expect, it, vi } from 'vitest';
import type { ProbeReport } from '../../agent/probe-runner';
import { HeartbeatSchedule, type PublishOutcome } from '../../agent/publisher';
import { runLoop, type Clock } from '../../agent/run-loop';
import type { ReportOutcome } from '../../agent/failure-report';
import { FailureReportRule } from '../../agent/failure-report';
import type { LogLevel } from '../../agent/log';

/** A clock that jumps instead of waiting. */
function fakeClock(): Clock & { sleeps: number[]; advance(ms: number): void } {
  let now = 1_700_000_000_000;
  const clock = {
    sleeps: [] as number[],
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      now += Math.max(0, ms);
    },
  };
  return clock;
}

const healthy: ProbeReport = { healthy: true, probes: [{ name: 'forward-path', ok: true, detail: 'connected', ms: 3 }] };
const failing: ProbeReport = { healthy: false, probes: [{ name: 'forward-path', ok: false, detail: 'timed out', ms: 500 }] };

const twoFailing: ProbeReport = {
  healthy: false,
  probes: [
    { name: 'forwarding', ok: false, detail: 'ip_forward = 0', ms: 1 },
    { name: 'egress', ok: true, detail: 'up', ms: 1 },
    { name: 'forward-path', ok: false, detail: 'timed out', ms: 500 },
  ],
};

interface HarnessOptions {
  /** With a reporter: the outcomes its report() returns in turn (default ok). */
  reportOutcomes?: ReportOutcome[];
  withReporter?: boolean;
}

function harness(reports: ProbeReport[], outcomes: PublishOutcome[] = [], probeMs = 0, options: HarnessOptions = {}) {
  const clock = fakeClock();
  const published: { value: number; at: number }[] = [];
  const logs: { level: LogLevel; message: string }[] = [];
  let cycle = 0;
  const publish = vi.fn(async (value: 0 | 1, timestamp: Date, _signal: AbortSignal) => {
    published.push({ value, at: timestamp.getTime() - 1_700_000_000_000 });
    calls.push(`publish ${value}`);
    return outcomes.shift() ?? { ok: true, attempts: 1 };
  });
  const calls: string[] = [];
  const rule = new FailureReportRule();
  const report = vi.fn(async (failedProbes: readonly string[], at: Date, _signal: AbortSignal): Promise<ReportOutcome> => {
    calls.push(`report ${failedProbes.join(',')} @${at.getTime() - 1_700_000_000_000}`);
    return options.reportOutcomes?.shift() ?? { ok: true, attempts: 1 };
  });
  const reporter = options.withReporter || options.reportOutcomes ? { due: (healthy: boolean) => rule.decide(healthy), report } : undefined;
  const run = () =>
    runLoop({
      probe: async () => {
        clock.advance(probeMs);
        return reports[Math.min(cycle++, reports.length - 1)] as ProbeReport;
      },
      publisher: { publish },
      schedule: new HeartbeatSchedule(10_000, 1_000),
      intervalMs: 2_000,
      clock,
      log: (level, message) => logs.push({ level, message }),
      signal: new AbortController().signal,
      maxCycles: reports.length,
      ...(reporter ? { reporter } : {}),
    });
  return { run, published, logs, clock, publish, report, calls };
}

describe('Function: runLoop', () => {
  it('heartbeats 1 every period while healthy, 0 at once on failure, and logs the failing probe', async () => {
    const reports = [...Array(6).fill(healthy), ...Array(7).fill(failing), ...Array(3).fill(healthy)] as ProbeReport[];
    const { run, published, logs } = harness(reports);
    expect(await run()).toEqual({ cycles: 16 });
    expect(published).toEqual([
      { value: 1, at: 0 },
      { value: 1, at: 10_000 },
      { value: 0, at: 12_000 }, // first failing cycle
      { value: 0, at: 22_000 }, // once per period while failing
      { value: 1, at: 26_000 }, // healthy again: last 1 was 16 s ago
    ]);
    expect(logs.find((log) => log.level === 'warn')?.message).toBe('routing unhealthy: forward-path: timed out');
    expect(logs.some((log) => log.message === 'routing healthy: every probe passed')).toBe(true);
  });

  it('carries on after a failed publish and tries again next cycle', async () => {
    const { run, published, logs } = harness(Array(3).fill(healthy) as ProbeReport[], [{ ok: false, attempts: 3, error: 'ServiceUnavailable' }]);
    await run();
    expect(published.map((p) => p.at)).toEqual([0, 2_000]);
    expect(logs.some((log) => log.level === 'error' && log.message.includes('not published after 3 attempt(s): ServiceUnavailable'))).toBe(true);
  });

  it('keeps a fixed cadence: the next cycle starts one interval after the last began', async () => {
    const { run, clock } = harness(Array(3).fill(healthy) as ProbeReport[], [], 700);
    await run();
    expect(clock.sleeps).toEqual([1_300, 1_300, 1_300]);
  });

  it('gives the publish only what is left of the interval', async () => {
    const { run, publish } = harness([failing, failing], [], 1_960);
    await run();
    const signal = publish.mock.calls[0]?.[2] as AbortSignal;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(signal.aborted).toBe(true); // 2 000 − 1 960 − 50 ms margin → the 1 ms floor
  });

  it('stops when its signal aborts', async () => {
    const stop = new AbortController();
    const clock = fakeClock();
    let cycles = 0;
    const result = await runLoop({
      probe: async () => {
        if (++cycles === 3) stop.abort();
        return healthy;
      },
      publisher: { publish: async () => ({ ok: true, attempts: 1 }) },
      schedule: new HeartbeatSchedule(10_000),
      intervalMs: 2_000,
      clock,
      log: () => undefined,
      signal: stop.signal,
    });
    expect(result.cycles).toBe(3);
  });

  describe('with a failure reporter', () => {
    it('reports once per failure episode, right after the 0, naming the failed probes', async () => {
      const reports = [healthy, twoFailing, failing, failing, healthy, healthy, failing, failing] as ProbeReport[];
      const { run, calls } = harness(reports, [], 0, { withReporter: true });
      await run();
      expect(calls).toEqual([
        'publish 1',
        'publish 0', // first failing cycle: the 0 first …
        'report forwarding,forward-path @2000', // … then the report, with the cycle's time
        'publish 1',
        'publish 0', // a new episode after the recovery
        'report forward-path @12000',
      ]);
    });

    it('still reports when the 0 could not be published', async () => {
      const { run, calls, logs } = harness([failing, failing], [{ ok: false, attempts: 3, error: 'ServiceUnavailable' }], 0, { withReporter: true });
      await run();
      expect(calls.slice(0, 2)).toEqual(['publish 0', 'report forward-path @0']);
      expect(logs.some((log) => log.level === 'error' && log.message.startsWith('heartbeat 0 not published'))).toBe(true);
    });

    it('logs a failed report in one line and carries on without sending it again in the same episode', async () => {
      const { run, report, logs, published } = harness([failing, failing, failing], [], 0, {
        reportOutcomes: [{ ok: false, attempts: 3, error: 'TooManyRequestsException' }],
      });
      expect(await run()).toEqual({ cycles: 3 });
      expect(report).toHaveBeenCalledTimes(1);
      const errors = logs.filter((log) => log.message.startsWith('failure report not sent'));
      expect(errors).toHaveLength(1);
      expect(errors[0]?.message).toContain('after 3 attempt(s): TooManyRequestsException');
      expect(published.map((p) => p.value)).toEqual([0]); // the heartbeat schedule is untouched
    });

    it('logs a report that was sent', async () => {
      const { run, logs } = harness([failing], [], 0, { withReporter: true });
      await run();
      expect(logs).toContainEqual({ level: 'info', message: 'failure report sent to the controller: forward-path' });
    });

    it('gives the report only what is left of the interval, so the cadence holds', async () => {
      const { run, report, clock } = harness([failing, failing], [], 1_960, { withReporter: true });
      await run();
      const signal = report.mock.calls[0]?.[2] as AbortSignal;
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(signal.aborted).toBe(true); // 2 000 − 1 960 − 50 ms margin → the 1 ms floor
      expect(clock.sleeps).toEqual([40, 40]);
    });

    it('makes the publish of the 0 leave room for the report when one is due', async () => {
      // 2 000 − 1 000 probe − 50 margin = 950 ms: the publish gets 475 with a report due, 950 without.
      const due = harness([failing], [], 1_000, { withReporter: true });
      const notDue = harness([failing], [], 1_000);
      await Promise.all([due.run(), notDue.run()]);
      const dueSignal = due.publish.mock.calls[0]?.[2] as AbortSignal;
      const plainSignal = notDue.publish.mock.calls[0]?.[2] as AbortSignal;
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(dueSignal.aborted).toBe(true);
      expect(plainSignal.aborted).toBe(false);
    });

    it('survives budgets that are not whole milliseconds', async () => {
      // 2 000 − 1 001 − 50 = 949 ms left: half of it is 474.5, which AbortSignal.timeout rejects.
      const { run, publish, report } = harness([failing, failing], [], 1_001, { withReporter: true });
      expect(await run()).toEqual({ cycles: 2 });
      expect(publish).toHaveBeenCalled();
      expect(report).toHaveBeenCalledTimes(1);
    });

    it('sends nothing when the agent is stopping', async () => {
      const stop = new AbortController();
      const report = vi.fn(async () => ({ ok: true, attempts: 1 }));
      await runLoop({
        probe: async () => failing,
        publisher: {
          publish: async () => {
            stop.abort(); // SIGTERM while the 0 was being published
            return { ok: true, attempts: 1 };
          },
        },
        schedule: new HeartbeatSchedule(10_000),
        intervalMs: 2_000,
        clock: fakeClock(),
        log: () => undefined,
        signal: stop.signal,
        reporter: { due: () => true, report },
      });
      expect(report).not.toHaveBeenCalled();
    });
  });
});
