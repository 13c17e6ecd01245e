import { describe, expect, it, vi } from 'vitest';
import type { ProbeReport } from '../../agent/probe-runner';
import { HeartbeatSchedule, type PublishOutcome } from '../../agent/publisher';
import { runLoop, type Clock } from '../../agent/run-loop';
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

function harness(reports: ProbeReport[], outcomes: PublishOutcome[] = [], probeMs = 0) {
  const clock = fakeClock();
  const published: { value: number; at: number }[] = [];
  const logs: { level: LogLevel; message: string }[] = [];
  let cycle = 0;
  const publish = vi.fn(async (value: 0 | 1, timestamp: Date, _signal: AbortSignal) => {
    published.push({ value, at: timestamp.getTime() - 1_700_000_000_000 });
    return outcomes.shift() ?? { ok: true, attempts: 1 };
  });
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
    });
  return { run, published, logs, clock, publish };
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
});
