/**
 * Heartbeats through the intake, as the design has the agent send them, plugged into the real
 * run loop through its `publisher` seam: each beat is an `IntakeReportBody` (its own status, the
 * peers its witness cannot reach) POSTed with the agent's real `SignedUrlSender`, and a peer that
 * becomes unreachable sends a body at once. A stand-in until the agent sends these bodies
 * itself (it still calls PutMetricData); it says nothing the contract does not.
 */
import { withBoundedRetries, retryPolicy, type AttemptOutcome } from '../agent/bounded-retry';
import type { FailureReport, SignedUrlSender } from '../agent/failure-report';
import type { WitnessSource } from '../agent/witness-source';
import type { IntakeReportBody } from '../common/intake-contract';
import { HEARTBEAT_FAILING } from '../common/heartbeat';
import type { HeartbeatValue } from '../agent/publisher';
import type { VirtualClock } from './clock';

export class IntakeHeartbeats {
  private lastStatus: IntakeReportBody['status'] = 'ok';
  private readonly retry;

  constructor(
    private readonly sender: SignedUrlSender,
    private readonly witness: WitnessSource | undefined,
    clock: VirtualClock,
  ) {
    this.retry = retryPolicy({ sleep: (ms, signal) => clock.sleep(ms, signal) }, 2);
    // A newly unreachable peer: a body at once, not at the next beat.
    witness?.onChange(() => void this.send(this.lastStatus, AbortSignal.timeout(60_000)));
  }

  /** The run loop's publisher: one body per beat, with this NAT's status. */
  publish(value: HeartbeatValue, _at: Date, signal: AbortSignal): Promise<AttemptOutcome> {
    this.lastStatus = value === HEARTBEAT_FAILING ? 'failing' : 'ok';
    return this.send(this.lastStatus, signal);
  }

  private send(status: IntakeReportBody['status'], signal: AbortSignal): Promise<AttemptOutcome> {
    const body: IntakeReportBody = { status, unreachablePeers: this.witness?.unreachable() ?? [] };
    return withBoundedRetries(this.retry, signal, async () => {
      await this.sender.send(body as unknown as FailureReport, signal);
    });
  }
}
