/**
 * When the agent sends a body to the intake: every heartbeat period, and at once when there is
 * news — the first failing cycle of an episode, the first healthy cycle after a failing body, a
 * peer newly unreachable. Pure; the clock is the caller's. A body that was not delivered is not
 * recorded, so the next chance tries again.
 */
import type { RoutingStatus } from '../common/intake-contract';

/** The intake accepts one body per instance per second; the agent keeps a little more apart. */
export const MIN_BODY_SPACING_MS = 1_100;

export class BeatSchedule {
  private lastSent: { at: number; status: RoutingStatus } | undefined;
  private peersChangedPending = false;

  constructor(
    private readonly periodMs: number,
    /** Absorbs timer jitter: a cycle a few ms early still counts as a period. */
    private readonly slackMs = 0,
  ) {}

  /** A peer became unreachable: the next chance sends a body. */
  peersChanged(): void {
    this.peersChangedPending = true;
  }

  /** Whether a body is due now, for a cycle that found `status`. */
  due(status: RoutingStatus, now: number): boolean {
    const last = this.lastSent;
    if (last === undefined || last.status !== status || this.peersChangedPending) return true;
    return now - last.at >= this.periodMs - this.slackMs;
  }

  /** How long until a body may go out without the intake refusing it as too soon (0: now). */
  waitBeforeSendingMs(now: number): number {
    return this.lastSent === undefined ? 0 : Math.max(0, this.lastSent.at + MIN_BODY_SPACING_MS - now);
  }

  /** A body went out and was accepted (it carried the latest unreachable peers). */
  recordSent(status: RoutingStatus, now: number): void {
    this.lastSent = { at: now, status };
    this.peersChangedPending = false;
  }

  /** Whether a witness change is still waiting for its body. */
  get peerChangePending(): boolean {
    return this.peersChangedPending;
  }
}
