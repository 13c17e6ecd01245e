/**
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
import type { AwsCredentialIdentityProvider, ChecksumConstructor, HashConstructor } from '@smithy/types';
import { SignatureV4 } from '@smithy/signature-v4';
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
  send(report: FailureReport, signal: AbortSignal): Promise<void>;
}

export const DEFAULT_REPORT_ATTEMPTS = 3;

/** The region of a Function URL (`https://<id>.lambda-url.<region>.on.aws/`). */
export function regionOfUrl(url: string): string | undefined {
  return /^https:\/\/[^.]+\.lambda-url\.([a-z0-9-]+)\.on\.aws\/?$/.exec(url)?.[1];
}

export interface SigningOptions {
  region: string;
  credentials: AwsCredentialIdentityProvider;
  sha256: ChecksumConstructor | HashConstructor;
  fetch?: typeof fetch;
}

/** POSTs the report to a Function URL with AWS_IAM auth, signed for the `lambda` service. */
export class SignedUrlSender implements ReportSender {
  private readonly signer: SignatureV4;
  private readonly fetch: typeof fetch;

  constructor(
    readonly url: string,
    options: SigningOptions,
  ) {
    this.signer = new SignatureV4({ service: 'lambda', region: options.region, credentials: options.credentials, sha256: options.sha256 });
    this.fetch = options.fetch ?? fetch;
  }

  async send(report: FailureReport, signal: AbortSignal): Promise<void> {
    const target = new URL(this.url);
    const body = JSON.stringify(report);
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: target.protocol,
      hostname: target.hostname,
      ...(target.port ? { port: Number(target.port) } : {}),
      path: target.pathname || '/',
      query: {},
      headers: { host: target.host, 'content-type': 'application/json' },
      body,
    });
    // fetch sets Host itself, to the same value that was signed.
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'));
    const response = await this.fetch(target, { method: 'POST', headers, body, signal });
    if (response.status === 200 || response.status === 202) return;
    const text = (await response.text().catch(() => '')).slice(0, 300);
    throw Object.assign(new Error(`intake answered ${response.status}: ${text}`), {
      name: response.status === 429 ? 'TooManyRequests' : `Http${response.status}`,
      $metadata: { httpStatusCode: response.status },
    });
  }
}

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
    return withBoundedRetries(this.retry, signal, () => this.sender.send(report, signal));
  }
}
