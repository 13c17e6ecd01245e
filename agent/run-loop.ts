/**
 * `run`: probe every interval, publish the heartbeat by the schedule, never let one cycle overrun
 * the next, stop when `signal` aborts. The clock is injected so tests run cycles in no time.
 */
import { HEARTBEAT_FAILING } from '../common/heartbeat';
import type { FailureReporter } from './failure-report';
import type { Clock } from './clock';
import type { Logger } from './log';
import { failingProbes, type ProbeReport } from './probe-runner';
import type { HeartbeatPublisher, HeartbeatSchedule } from './publisher';

export { systemClock, type Clock } from './clock';

export interface RunLoopOptions {
  probe: (signal: AbortSignal) => Promise<ProbeReport>;
  publisher: Pick<HeartbeatPublisher, 'publish'>;
  schedule: HeartbeatSchedule;
  intervalMs: number;
  clock: Clock;
  log: Logger;
  /** Aborting it stops the loop after the current step. */
  signal: AbortSignal;
  /** Sends the failure report on the first failing cycle of an episode; absent: no report. */
  reporter?: Pick<FailureReporter, 'due' | 'report'>;
  /** Stop after this many cycles (tests). */
  maxCycles?: number;
}

/** Publishing must end this long before the next cycle is due. */
const CYCLE_MARGIN_MS = 50;
/**
 * When a report is due, the publish of the 0 leaves at least this much (at most half the cycle's
 * budget) for it, so a CloudWatch that hangs cannot also swallow the report.
 */
export const REPORT_RESERVE_MS = 500;

function failureSummary(report: ProbeReport): string {
  return failingProbes(report)
    .map((probe) => `${probe.name}: ${probe.detail}`)
    .join('; ');
}

export async function runLoop(options: RunLoopOptions): Promise<{ cycles: number }> {
  const { clock, log, signal, intervalMs } = options;
  let cycles = 0;
  let previousFailures: string | undefined;
  while (!signal.aborted && (options.maxCycles === undefined || cycles < options.maxCycles)) {
    const started = clock.now();
    const nextCycleAt = started + intervalMs;
    cycles++;
    const report = await options.probe(signal);
    if (signal.aborted) break;

    const failing = report.healthy ? undefined : failingProbes(report).map((probe) => probe.name).join(',');
    if (failing !== previousFailures) {
      if (failing) log('warn', `routing unhealthy: ${failureSummary(report)}`, { failing: failing.split(','), probes: report.probes });
      else if (previousFailures !== undefined || cycles === 1) log('info', 'routing healthy: every probe passed', { probes: report.probes });
      previousFailures = failing;
    }

    const reportDue = options.reporter?.due(report.healthy) ?? false;
    const value = options.schedule.decide(report.healthy, started);
    if (value !== undefined) {
      const leftMs = nextCycleAt - clock.now() - CYCLE_MARGIN_MS;
      const reserveMs = reportDue ? Math.min(REPORT_RESERVE_MS, leftMs / 2) : 0;
      // Whole milliseconds: AbortSignal.timeout throws a RangeError on a fraction.
      const budgetMs = Math.max(1, Math.floor(leftMs - reserveMs));
      const outcome = await options.publisher.publish(value, new Date(started), AbortSignal.any([signal, AbortSignal.timeout(budgetMs)]));
      if (outcome.ok) {
        options.schedule.recordPublished(value, started);
        if (value === HEARTBEAT_FAILING) log('warn', `published failing heartbeat (0): ${failureSummary(report)}`);
        else log('debug', 'published healthy heartbeat (1)');
      } else {
        log('error', `heartbeat ${value} not published after ${outcome.attempts} attempt(s): ${outcome.error}; carrying on`);
      }
    }
    // After the 0 (sent or not): the report makes the controller look now; it then waits for the 0.
    if (reportDue && options.reporter && !signal.aborted) {
      const budgetMs = Math.max(1, Math.floor(nextCycleAt - clock.now() - CYCLE_MARGIN_MS));
      const names = failingProbes(report).map((probe) => probe.name);
      const outcome = await options.reporter.report(names, new Date(started), AbortSignal.any([signal, AbortSignal.timeout(budgetMs)]));
      if (outcome.ok) log('info', `failure report sent to the controller: ${names.join(', ')}`);
      else log('error', `failure report not sent after ${outcome.attempts} attempt(s): ${outcome.error}; carrying on (once per failure episode)`);
    }
    await clock.sleep(nextCycleAt - clock.now(), signal);
  }
  return { cycles };
}
