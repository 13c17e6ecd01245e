/**
 * A Lambda function on the virtual clock: asynchronous invocations that find it at its reserved
 * concurrency either wait in a FIFO queue (optimistic) or, as AWS documents, are throttled and
 * retried after 1 s, 2 s, 4 s … up to 5 min (lambdaThrottleBackoff); they pay a cold or warm
 * start, are dropped past the function's maximum event age, and can be
 * made to crash mid-way (the runtime dies after the n-th mutating AWS call; nothing after it
 * happens and nothing retries, as with retryAttempts 0). An invocation still running at its
 * timeout is killed the same way.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from 'aws-lambda';
import type { WorldContext } from './world/context';

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface CrashPlan {
  /** Invocations starting at or after this time are candidates. */
  from: number;
  /** Crash right after this many mutating calls have been made (the last one took effect). */
  afterMutatingCalls: number;
  /** How many invocations to crash. */
  times: number;
}

export class Invocation {
  mutatingCalls = 0;
  crashed = false;
  private crashNow: () => void = () => undefined;
  readonly crashSignal = new Promise<void>((resolve) => (this.crashNow = resolve));
  constructor(
    readonly crashAfter: number | undefined,
    /** What invoked it (schedule, alarm …, report from i-…, …). */
    readonly source = '',
  ) {}
  /** Called by the SDK bridge after a mutating call took effect; true = the runtime dies now. */
  afterMutation(): boolean {
    this.mutatingCalls++;
    if (this.crashAfter === undefined || this.mutatingCalls < this.crashAfter) return false;
    this.crashed = true;
    this.crashNow();
    return true;
  }
}

const THROTTLE_RETRY_FIRST_MS = 1000;
const THROTTLE_RETRY_MAX_MS = 300_000;

export const invocationStorage = new AsyncLocalStorage<Invocation>();

export interface InvocationRecord {
  at: number;
  source: string;
  status: string;
  actions: string[];
}

export class SimLambda {
  private running = 0;
  private readonly queue: { event: unknown; source: string; enqueuedAt: number }[] = [];
  private lastEndedAt = Number.NEGATIVE_INFINITY;
  private coldNext = true;
  private count = 0;
  readonly crashPlans: CrashPlan[] = [];
  readonly records: InvocationRecord[] = [];
  /** Called when an invocation ends (for convergence checks). */
  onFinished?: (record: InvocationRecord) => void;

  constructor(
    private readonly ctx: WorldContext,
    readonly name: string,
    private readonly handler: LambdaHandler,
    private readonly reservedConcurrency = Number.POSITIVE_INFINITY,
    /** The function's timeout (infra: reconcile 55 s, lifecycle 60 s). */
    private readonly timeoutMs = 60_000,
    /** Async events older than this are dropped (infra's EventInvokeConfig: reconcile 120 s, lifecycle 720 s). */
    private readonly maxEventAgeSeconds = 120,
  ) {}

  /** Throttled async events retried so far (lambdaThrottleBackoff). */
  throttledRetries = 0;

  invoke(event: unknown, source: string): void {
    const item = { event, source, enqueuedAt: this.ctx.clock.now() };
    if (this.ctx.params.lambdaThrottleBackoff) this.attempt(item, 0);
    else {
      this.queue.push(item);
      this.pump();
    }
  }

  private expired(item: { source: string; enqueuedAt: number }): boolean {
    if (this.ctx.clock.now() - item.enqueuedAt <= this.maxEventAgeSeconds * 1000) return false;
    this.ctx.timeline.record('lambda', `${this.name}: event from ${item.source} dropped (older than the maximum event age)`);
    return true;
  }

  /** Throttled: back to the queue, retried after 1 s doubling up to 5 min [AWS]. */
  private attempt(item: { event: unknown; source: string; enqueuedAt: number }, retries: number): void {
    if (this.expired(item)) return;
    if (this.running < this.reservedConcurrency) {
      this.running++;
      void this.run(item.event, item.source);
      return;
    }
    this.throttledRetries++;
    const delayMs = Math.min(THROTTLE_RETRY_MAX_MS, THROTTLE_RETRY_FIRST_MS * 2 ** retries);
    this.ctx.clock.after(delayMs, () => this.attempt(item, retries + 1));
  }

  private pump(): void {
    while (this.running < this.reservedConcurrency && this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (this.expired(item)) continue;
      this.running++;
      void this.run(item.event, item.source);
    }
  }

  private async run(event: unknown, source: string): Promise<void> {
    const { clock, params } = this.ctx;
    const cold = this.coldNext || clock.now() - this.lastEndedAt > params.lambdaIdleColdSeconds * 1000;
    this.coldNext = false;
    await clock.sleep(cold ? params.lambdaColdStartMs : params.lambdaWarmStartMs);
    const plan = this.crashPlans.find((p) => p.times > 0 && clock.now() >= p.from);
    const invocation = new Invocation(plan?.afterMutatingCalls, source);
    const started = clock.now();
    const deadline = started + this.timeoutMs;
    const context = fakeContext(this.name, ++this.count, () => Math.max(0, deadline - clock.now()));
    let timer: { cancel(): void } | undefined;
    const timedOut = new Promise<{ status: string }>((resolve) => (timer = clock.at(deadline, () => resolve({ status: 'timed out' }))));
    const outcome = await Promise.race([
      invocationStorage.run(invocation, () => this.handler(event, context)).catch((error: unknown) => ({ status: 'threw', message: String(error) })),
      invocation.crashSignal.then(() => ({ status: 'crashed' })),
      timedOut,
    ]);
    timer?.cancel();
    if ((outcome as { status?: string }).status === 'timed out') this.coldNext = true;
    if (invocation.crashed && plan) {
      plan.times--;
      this.coldNext = true; // the execution environment died with it
    }
    const record = summarize(started, source, outcome);
    this.records.push(record);
    if (record.actions.length > 0 || record.status !== 'reconciled') {
      const detail = record.actions.length > 0 ? `: ${record.actions.join('; ')}` : '';
      this.ctx.timeline.record('lambda', `${this.name} (${source}) ${record.status}${detail}`);
    }
    this.running--;
    this.lastEndedAt = clock.now();
    this.onFinished?.(record);
    this.pump();
  }
}

function summarize(at: number, source: string, outcome: unknown): InvocationRecord {
  const o = (outcome ?? {}) as { status?: string; message?: string; actions?: { kind: string; status: string; detail?: string }[] };
  const actions = (o.actions ?? []).map((a) => `${a.kind} ${a.status}${a.detail ? ` (${a.detail})` : ''}`);
  const status = o.status === 'crashed' ? 'CRASHED mid-way' : o.status === 'handled' || o.status === 'waiting' || o.status === 'ignored' ? `${o.status}: ${o.message ?? ''}` : (o.status ?? 'unknown');
  return { at, source, status, actions };
}

/**
 * Just enough of a Lambda context for middy and Powertools, with the remaining time read off the
 * virtual clock. (middy also arms a real-time timer from it; it is cleared when the handler
 * returns, so only a crashed invocation leaves one behind: the CLIs exit explicitly.)
 */
export function fakeContext(functionName: string, n: number, remaining: () => number): Context {
  return {
    getRemainingTimeInMillis: remaining,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: `sim-${functionName}-${n}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'sim',
    callbackWaitsForEmptyEventLoop: false,
  } as unknown as Context;
}
