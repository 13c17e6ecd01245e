/**
 * The agent's direct failure report (the second fast path): on the first failing cycle of a failure
 * episode the agent invokes the reconcile Lambda asynchronously, so the controller looks at
 * CloudWatch at once instead of waiting for an alarm to evaluate. The controller treats it as a hint:
 * it trusts nothing in the payload and acts only on what CloudWatch shows.
 *
 * `FailureReporter` takes any LambdaClient, so a simulator can plug in an in-memory one;
 * `FailureReportRule` is the pure "report now?" rule. The SDK is imported for its types only here and
 * loaded dynamically (by createLambdaClient at start, or on the first report): an agent without a
 * reconcile function never evaluates the Lambda client.
 */
import type { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { errorMessage } from './errors';
import { retryPolicy, withBoundedRetries, type AttemptOutcome, type RetryOptions, type RetryPolicy } from './bounded-retry';

export const FAILURE_REPORT_SOURCE = 'natbeat.agent';
export const FAILURE_REPORT_DETAIL_TYPE = 'NAT Failure Report';
/** The controller's schema accepts at most this many probe names of at most this length. */
const MAX_REPORTED_PROBES = 16;
const MAX_PROBE_NAME_LENGTH = 64;

export interface FailureReportSource {
  instanceId: string;
  groupName: string;
  availabilityZone: string;
}

export interface FailureReport {
  source: typeof FAILURE_REPORT_SOURCE;
  'detail-type': typeof FAILURE_REPORT_DETAIL_TYPE;
  detail: FailureReportSource & { failedProbes: string[]; at: string };
}

export function failureReport(source: FailureReportSource, failedProbes: readonly string[], at: Date): FailureReport {
  return {
    source: FAILURE_REPORT_SOURCE,
    'detail-type': FAILURE_REPORT_DETAIL_TYPE,
    detail: {
      instanceId: source.instanceId,
      groupName: source.groupName,
      availabilityZone: source.availabilityZone,
      failedProbes: failedProbes.slice(0, MAX_REPORTED_PROBES).map((name) => name.slice(0, MAX_PROBE_NAME_LENGTH)),
      at: at.toISOString(),
    },
  };
}

/**
 * When to report: on the first failing cycle of a failure episode, never again until a healthy cycle
 * has ended the episode. The first cycle after start counts as an episode start when it fails (the
 * state before is unknown, like the heartbeat's first 0). An episode is reported once whether or not
 * the invoke succeeded: by the next cycle the alarm is already on its way, and a NAT that cannot
 * reach Lambda must not invoke every cycle.
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

/** Attempts per report (first included), back-off and sleep (see bounded-retry.ts), and: */
export interface FailureReporterOptions extends RetryOptions {
  /** How the InvokeCommand class is obtained; default: a dynamic import of @aws-sdk/client-lambda. */
  loadInvokeCommand?: () => Promise<typeof InvokeCommand>;
}

export const DEFAULT_REPORT_ATTEMPTS = 3;

const loadInvokeCommand = async (): Promise<typeof InvokeCommand> => (await import('@aws-sdk/client-lambda')).InvokeCommand;

/** The client's region: the ARN's own when the function is given as an ARN, else `fallback`. */
export function regionOfFunction(functionName: string, fallback: string | undefined): string | undefined {
  return /^arn:[^:]+:lambda:([^:]+):/.exec(functionName)?.[1] ?? fallback;
}

/**
 * The Lambda client of the agent, created once at start (the module is imported then, not on the
 * first failure). Like the CloudWatch client: the SDK's own retries are off (FailureReporter bounds
 * them within the cycle), and endpoint, region and credentials follow the SDK's standard settings
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_LAMBDA…).
 */
export async function createLambdaClient(region: string | undefined): Promise<LambdaClient> {
  const { LambdaClient } = await import('@aws-sdk/client-lambda');
  return new LambdaClient({ ...(region ? { region } : {}), maxAttempts: 1 });
}

export class FailureReporter {
  readonly rule = new FailureReportRule();
  private readonly retry: RetryPolicy;
  private readonly loadInvokeCommand: () => Promise<typeof InvokeCommand>;

  constructor(
    private readonly client: LambdaClient,
    /** Name or ARN of the reconcile function. */
    readonly functionName: string,
    private readonly source: FailureReportSource,
    options: FailureReporterOptions = {},
  ) {
    this.retry = retryPolicy(options, DEFAULT_REPORT_ATTEMPTS);
    this.loadInvokeCommand = options.loadInvokeCommand ?? loadInvokeCommand;
  }

  /** The rule, fed with every cycle's verdict: true on the first failing cycle of an episode. */
  due(healthy: boolean): boolean {
    return this.rule.decide(healthy);
  }

  /**
   * One asynchronous invoke (InvocationType Event). Never throws: gives up after maxAttempts, a
   * non-retryable error, or when `signal` aborts (the cycle's deadline or shutdown).
   */
  async report(failedProbes: readonly string[], at: Date, signal: AbortSignal): Promise<ReportOutcome> {
    let Invoke: typeof InvokeCommand;
    try {
      Invoke = await this.loadInvokeCommand();
    } catch (error) {
      return { ok: false, attempts: 0, error: `cannot load the Lambda client: ${errorMessage(error)}` };
    }
    const payload = new TextEncoder().encode(JSON.stringify(failureReport(this.source, failedProbes, at)));
    return withBoundedRetries(this.retry, signal, async () => {
      const command = new Invoke({ FunctionName: this.functionName, InvocationType: 'Event', Payload: payload });
      const response = await this.client.send(command, { abortSignal: signal });
      // An accepted asynchronous invoke answers 202; anything else did not queue the event.
      if (response.StatusCode !== undefined && response.StatusCode !== 202) {
        throw Object.assign(new Error(`unexpected status ${response.StatusCode}`), { $metadata: { httpStatusCode: response.StatusCode } });
      }
    });
  }
}
