/**
 * The first release's failure report, kept for the simulator's agent model until it sends
 * heartbeats through agent/heartbeat-loop.ts; the agent itself sends every word as a heartbeat
 * body (agent/intake-client.ts), which covers this report.
 *
 * The agent's failure report (the second fast path): on the first failing cycle of a failure
 * episode the agent POSTs its failed probes to the controller's intake, a Lambda Function URL
 * with AuthType AWS_IAM. The request is signed (SigV4) with the instance role's credentials, so
 * the intake knows which instance reports from the verified caller (the role session is named
 * after the instance), never from the body: the body says only which probes failed. The NAT
 * cannot invoke the controller in any other way.
 *
 * `FailureReporter` sends through any `ReportSender`, so a simulator can plug in its own;
 * `FailureReportRule` is the pure "report now?" rule. Signing uses @smithy/signature-v4 with the
 * heartbeat client's own credential provider and hash, so the agent loads no other SDK client.
 */
import { retryPolicy, withBoundedRetries, type AttemptOutcome, type RetryOptions, type RetryPolicy } from './bounded-retry';

/** The intake reads at most this many probe names of at most this length. */
const MAX_REPORTED_PROBES = 16;
const MAX_PROBE_NAME_LENGTH = 64;

/** What the agent says: which of its own probes failed, and when. Nothing about any instance. */
export interface FailureReport {
  failedProbes: string[];
  at: string;
}

export function failureReport(failedProbes: readonly string[], at: Date): FailureReport {
  return {
    failedProbes: failedProbes.slice(0, MAX_REPORTED_PROBES).map((name) => name.slice(0, MAX_PROBE_NAME_LENGTH)),
    at: at.toISOString(),
  };
}

/**
 * When to report: on the first failing cycle of a failure episode, never again until a healthy cycle
 * has ended the episode. The first cycle after start counts as an episode start when it fails (the
 * state before is unknown, like the heartbeat's first 0). An episode is reported once whether or not
 * the request succeeded: by the next cycle the alarm is already on its way, and a NAT that cannot
 * reach the intake must not call it every cycle.
 */
export class FailureReportRule {
  private inEpisode = false;

  decide(healthy: boolean): boolean {
    if (healthy) {
      this.inEpisode = false;
      return false;
    }
    if (this.inEpisode) return false;
    this.inEpisode = true;
    return true;
  }
}

export type ReportOutcome = AttemptOutcome;

/** Delivers one report; throws on failure, with `$metadata.httpStatusCode` when there was an answer. */
export interface ReportSender {
  send(report: FailureReport, signal: AbortSignal): Promise<unknown>;
}

export const DEFAULT_REPORT_ATTEMPTS = 3;

// The signed sender and the URL's region live with the heartbeat client; re-exported for callers
// of the failure-report API.
export { regionOfUrl, SignedUrlSender, type SigningOptions } from './intake-client';

export class FailureReporter {
  readonly rule = new FailureReportRule();
  private readonly retry: RetryPolicy;

  constructor(
    private readonly sender: ReportSender,
    options: RetryOptions = {},
  ) {
    this.retry = retryPolicy(options, DEFAULT_REPORT_ATTEMPTS);
  }

  /** The rule, fed with every cycle's verdict: true on the first failing cycle of an episode. */
  due(healthy: boolean): boolean {
    return this.rule.decide(healthy);
  }

  /**
   * One report. Never throws: gives up after maxAttempts, a non-retryable answer (403: not a NAT
   * of this deployment), or when `signal` aborts (the cycle's deadline or shutdown).
   */
  async report(failedProbes: readonly string[], at: Date, signal: AbortSignal): Promise<ReportOutcome> {
    const report = failureReport(failedProbes, at);
    return withBoundedRetries(this.retry, signal, async () => void (await this.sender.send(report, signal)));
  }
}
