/**
 * `run`: probe every interval, send a body to the intake by the schedule (agent/beat-schedule.ts),
 * and at once when the peer prober reports a newly unreachable peer; never let one cycle overrun
 * the next; stop when `signal` aborts. The clock is injected so tests run cycles in no time.
 */
import type { RoutingStatus } from '../common/intake-contract';
import type { BeatSchedule } from './beat-schedule';
import type { Clock } from './clock';
import { heartbeatBody, type IntakeClient } from './intake-client';
import type { Logger } from './log';
import { failingProbes, type ProbeReport } from './probe-runner';
import type { WitnessSource } from './witness-source';

export interface HeartbeatLoopOptions {
  probe: (signal: AbortSignal) => Promise<ProbeReport>;
  client: Pick<IntakeClient, 'send'>;
  schedule: BeatSchedule;
  intervalMs: number;
  clock: Clock;
  log: Logger;
  /** Aborting it stops the loop after the current step. */
  signal: AbortSignal;
  /** The peer prober: its unreachable peers go in every body; absent: none. */
  witness?: WitnessSource;
  /** Stop after this many cycles (tests). */
  maxCycles?: number;
}

/** Sending must end this long before the next cycle is due. */
const CYCLE_MARGIN_MS = 50;

function failureSummary(report: ProbeReport): string {
  return failingProbes(report)
    .map((probe) => `${probe.name}: ${probe.detail}`)
    .join('; ');
}

export async function heartbeatLoop(options: HeartbeatLoopOptions): Promise<{ cycles: number; bodies: number }> {
  const { clock, log, signal, intervalMs, schedule, witness } = options;
  let cycles = 0;
  let bodies = 0;
  let previousFailures: string | undefined;
  let latest: { status: RoutingStatus; failedProbes: string[] } | undefined;
  // A witness change cuts the wait between cycles short.
  let wake = new AbortController();
  witness?.onChange(() => {
    schedule.peersChanged();
    wake.abort();
  });

  /** Sends the latest word if the schedule says so, within `deadline`; waits out the intake's spacing. */
  const sendIfDue = async (deadline: number): Promise<void> => {
    if (!latest || !schedule.due(latest.status, clock.now())) return;
    const waitMs = schedule.waitBeforeSendingMs(clock.now());
    if (waitMs > 0) {
      // Too soon after the last body: wait, if the cycle has room; else the next cycle sends it.
      if (clock.now() + waitMs >= deadline) return;
      await clock.sleep(waitMs, signal);
      if (signal.aborted) return;
    }
    const { status, failedProbes } = latest;
    const at = clock.now();
    const body = heartbeatBody(status, failedProbes, witness?.unreachable() ?? [], new Date(at));
    // Whole milliseconds: AbortSignal.timeout throws a RangeError on a fraction.
    const budgetMs = Math.max(1, Math.floor(deadline - clock.now()));
    const outcome = await options.client.send(body, AbortSignal.any([signal, AbortSignal.timeout(budgetMs)]));
    if (outcome.ok) {
      bodies++;
      schedule.recordSent(status, at);
      if (outcome.accepted?.peers) witness?.setPeers(outcome.accepted.peers);
      if (status === 'failing') log('warn', `sent failing heartbeat: ${failedProbes.join(', ')}`, { unreachablePeers: body.unreachablePeers });
      else log('debug', 'sent healthy heartbeat', { unreachablePeers: body.unreachablePeers });
    } else {
      const refused = outcome.httpStatus === 403 ? ' (the intake does not take this instance for a NAT of its deployment)' : '';
      log('error', `${status} heartbeat not sent after ${outcome.attempts} attempt(s): ${outcome.error}${refused}; carrying on`);
    }
  };

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
    latest = { status: report.healthy ? 'ok' : 'failing', failedProbes: failingProbes(report).map((probe) => probe.name) };
    await sendIfDue(nextCycleAt - CYCLE_MARGIN_MS);

    // Until the next cycle: a witness change sends the latest word at once.
    while (!signal.aborted && clock.now() < nextCycleAt) {
      if (wake.signal.aborted) {
        wake = new AbortController();
        await sendIfDue(nextCycleAt - CYCLE_MARGIN_MS);
        continue;
      }
      await clock.sleep(nextCycleAt - clock.now(), AbortSignal.any([signal, wake.signal]));
    }
  }
  return { cycles, bodies };
}
