/** The run loop's heartbeats: the schedule rule, the witness seam, and each cycle's time budget. */
import { describe, expect, it } from 'vitest';
import type { IntakePeer, IntakeReportBody } from '../../common/intake-contract';
import { BeatSchedule, MIN_BODY_SPACING_MS } from '../../agent/beat-schedule';
import type { Clock } from '../../agent/clock';
import { heartbeatLoop } from '../../agent/heartbeat-loop';
import type { SendOutcome } from '../../agent/intake-client';
import type { LogLevel } from '../../agent/log';
import type { ProbeReport } from '../../agent/probe-runner';
import type { WitnessSource } from '../../agent/witness-source';

const T0 = 1_700_000_000_000;
const PEER: IntakePeer = { instanceId: 'i-0fedcba9876543210', address: '10.0.1.10', availabilityZone: 'us-east-1b' };

/** A clock that jumps instead of waiting; `at` runs a callback once the clock passes a time. */
function fakeClock() {
  let now = T0;
  const timers: { at: number; run: () => void }[] = [];
  const fire = () => {
    for (const t of timers.filter((t) => t.at <= now)) {
      timers.splice(timers.indexOf(t), 1);
      t.run();
    }
  };
  const clock: Clock & { at(ms: number, run: () => void): void } = {
    now: () => now,
    at: (ms, run) => void timers.push({ at: T0 + ms, run }),
    sleep: async (ms: number, signal: AbortSignal) => {
      const until = now + Math.max(0, ms);
      // Jump to the first timer inside the sleep, so a witness change can cut it short.
      const next = timers.filter((t) => t.at < until).sort((a, b) => a.at - b.at)[0];
      now = next ? Math.max(now, next.at) : until;
      fire();
      if (signal.aborted) return;
      if (now < until) await clock.sleep(until - now, signal);
    },
  };
  return clock;
}

const healthy: ProbeReport = { healthy: true, probes: [{ name: 'forward-path', ok: true, detail: 'connected', ms: 3 }] };
const failing: ProbeReport = { healthy: false, probes: [{ name: 'forward-path', ok: false, detail: 'timed out', ms: 500 }] };

class FakeWitness implements WitnessSource {
  unreachablePeers: string[] = [];
  peers: IntakePeer[][] = [];
  private listener: (() => void) | undefined;
  unreachable() {
    return [...this.unreachablePeers];
  }
  setPeers(peers: readonly IntakePeer[]) {
    this.peers.push([...peers]);
  }
  onChange(listener: () => void) {
    this.listener = listener;
  }
  lose(peer: string) {
    this.unreachablePeers.push(peer);
    this.listener?.();
  }
}

function harness(reports: ProbeReport[], options: { outcomes?: SendOutcome[]; periodMs?: number; witness?: FakeWitness; cycles?: number; sendMs?: number } = {}) {
  const clock = fakeClock();
  const sent: { at: number; body: IntakeReportBody }[] = [];
  const logs: { level: LogLevel; message: string }[] = [];
  let cycle = 0;
  const run = () =>
    heartbeatLoop({
      probe: async () => reports[Math.min(cycle++, reports.length - 1)]!,
      client: {
        send: async (body) => {
          sent.push({ at: clock.now() - T0, body });
          if (options.sendMs) await clock.sleep(options.sendMs, new AbortController().signal);
          return options.outcomes?.shift() ?? { ok: true, attempts: 1, accepted: { status: 'accepted', instanceId: 'i-0abc', peers: [PEER] } };
        },
      },
      schedule: new BeatSchedule(options.periodMs ?? 5_000, 1_000),
      intervalMs: 2_000,
      clock,
      log: (level, message) => void logs.push({ level, message }),
      signal: new AbortController().signal,
      ...(options.witness ? { witness: options.witness } : {}),
      maxCycles: options.cycles ?? reports.length,
    });
  return { run, sent, logs, clock };
}

describe('Function: heartbeatLoop', () => {
  it('sends a body every heartbeat period while nothing changes', async () => {
    const { run, sent } = harness(Array(8).fill(healthy));
    expect(await run()).toEqual({ cycles: 8, bodies: 4 });
    // Cycles every 2 s; period 5 s with 1 s slack: at 0, 4, 8, 12 s (the first cycle at or past 4 s after the last).
    expect(sent.map((s) => s.at)).toEqual([0, 4_000, 8_000, 12_000]);
    expect(sent.every((s) => s.body.status === 'ok' && s.body.failedProbes === undefined)).toBe(true);
  });

  it('sends at once on the first failing cycle of an episode, and at once on recovery after a failing body', async () => {
    const { run, sent, logs } = harness([healthy, failing, failing, failing, failing, healthy, healthy]);
    await run();
    expect(sent.map((s) => [s.at, s.body.status])).toEqual([
      [0, 'ok'],
      [2_000, 'failing'],
      // Still failing: a body a period later, not every cycle.
      [6_000, 'failing'],
      [10_000, 'ok'],
    ]);
    expect(sent[1]!.body.failedProbes).toEqual(['forward-path']);
    expect(logs).toContainEqual({ level: 'warn', message: 'sent failing heartbeat: forward-path' });
  });

  it('tries again at the next cycle when a body was not delivered (a failure is never left unsent)', async () => {
    const refused: SendOutcome = { ok: false, attempts: 3, error: 'intake answered 503', httpStatus: 503 };
    const { run, sent, logs } = harness([healthy, failing, failing, failing], { outcomes: [{ ok: true, attempts: 1 }, refused, refused] });
    await run();
    expect(sent.map((s) => [s.at, s.body.status])).toEqual([
      [0, 'ok'],
      [2_000, 'failing'],
      [4_000, 'failing'],
      [6_000, 'failing'],
    ]);
    expect(logs.filter((l) => l.level === 'error')).toHaveLength(2);
  });

  it('says when the intake refuses this instance (403), and carries on', async () => {
    const { run, logs } = harness([healthy], { outcomes: [{ ok: false, attempts: 1, error: 'intake answered 403', httpStatus: 403 }] });
    await run();
    expect(logs).toContainEqual({ level: 'error', message: expect.stringContaining('does not take this instance for a NAT of its deployment') });
  });

  it('puts the unreachable peers in every body and hands the answer’s peers to the witness source', async () => {
    const witness = new FakeWitness();
    witness.unreachablePeers = [PEER.instanceId];
    const { run, sent } = harness([healthy, healthy, healthy], { witness });
    await run();
    expect(sent.map((s) => s.body.unreachablePeers)).toEqual([[PEER.instanceId], [PEER.instanceId]]);
    expect(witness.peers).toEqual([[PEER], [PEER]]);
  });

  it('sends at once when a peer becomes unreachable, between cycles, without waiting for the period', async () => {
    const witness = new FakeWitness();
    const { run, sent, clock } = harness(Array(5).fill(healthy), { witness });
    clock.at(2_500, () => witness.lose(PEER.instanceId));
    await run();
    expect(sent.map((s) => [s.at, s.body.unreachablePeers])).toEqual([
      [0, []],
      [2_500, [PEER.instanceId]],
      // The period counts from the last body: not at 6 s (3.5 s later), at 8 s.
      [8_000, [PEER.instanceId]],
    ]);
  });

  it('keeps bodies at least the intake’s spacing apart: a change right after a body waits, within the cycle', async () => {
    const witness = new FakeWitness();
    const { run, sent, clock } = harness(Array(2).fill(healthy), { witness });
    clock.at(300, () => witness.lose(PEER.instanceId));
    await run();
    expect(sent.map((s) => s.at)).toEqual([0, MIN_BODY_SPACING_MS]);
  });
});

describe('Class: BeatSchedule', () => {
  it('is due on the first chance, on a change of status, on a peer change and after a period', () => {
    const schedule = new BeatSchedule(5_000, 500);
    expect(schedule.due('ok', 0)).toBe(true);
    schedule.recordSent('ok', 0);
    expect(schedule.due('ok', 4_000)).toBe(false);
    expect(schedule.due('ok', 4_500)).toBe(true);
    expect(schedule.due('failing', 1)).toBe(true);
    schedule.peersChanged();
    expect(schedule.due('ok', 1)).toBe(true);
    schedule.recordSent('ok', 2);
    expect(schedule.peerChangePending).toBe(false);
    expect(schedule.waitBeforeSendingMs(2)).toBe(MIN_BODY_SPACING_MS);
    expect(schedule.waitBeforeSendingMs(2 + MIN_BODY_SPACING_MS)).toBe(0);
  });
});
