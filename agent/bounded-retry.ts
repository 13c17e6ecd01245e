/**
 * The agent's one retry loop, shared by the heartbeat publish and the failure report: a few
 * attempts with doubling back-off, all inside the caller's deadline (`signal`), never throwing.
 * The SDK's own retries are off in the agent's clients, so the cycle's deadline bounds everything.
 */
import { errorMessage } from './errors';

export interface AttemptOutcome {
  ok: boolean;
  attempts: number;
  error?: string;
}

export interface RetryPolicy {
  /** Attempts, first one included. */
  maxAttempts: number;
  /** Back-off before the second attempt; doubles after that. */
  backoffMs: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type RetryOptions = Partial<RetryPolicy>;

const DEFAULT_BACKOFF_MS = 100;

/** A policy from a caller's options: at least one attempt, 100 ms first back-off, real sleep. */
export function retryPolicy(options: RetryOptions, defaultAttempts: number): RetryPolicy {
  return {
    maxAttempts: Math.max(1, options.maxAttempts ?? defaultAttempts),
    backoffMs: options.backoffMs ?? DEFAULT_BACKOFF_MS,
    sleep: options.sleep ?? abortableSleep,
  };
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Throttling, server errors and network failures may pass; a rejected request will not. */
export function isRetryable(error: unknown): boolean {
  const meta = (error as { $metadata?: { httpStatusCode?: number }; name?: string }) ?? {};
  if (meta.name === 'AbortError') return false;
  const status = meta.$metadata?.httpStatusCode;
  if (status === undefined) return true;
  return status >= 500 || status === 429 || /throttl/i.test(meta.name ?? '');
}

/** Runs `attempt` until it resolves, a non-retryable error, maxAttempts, or `signal` aborts. */
export async function withBoundedRetries(
  policy: RetryPolicy,
  signal: AbortSignal,
  attempt: () => Promise<void>,
): Promise<AttemptOutcome> {
  let lastError = 'aborted before the first attempt';
  for (let n = 1; n <= policy.maxAttempts; n++) {
    if (signal.aborted) return { ok: false, attempts: n - 1, error: `deadline reached: ${lastError}` };
    try {
      await attempt();
      return { ok: true, attempts: n };
    } catch (error) {
      lastError = errorMessage(error);
      if (signal.aborted) return { ok: false, attempts: n, error: `deadline reached: ${lastError}` };
      if (!isRetryable(error) || n === policy.maxAttempts) return { ok: false, attempts: n, error: lastError };
      await policy.sleep(policy.backoffMs * 2 ** (n - 1), signal);
    }
  }
  return { ok: false, attempts: policy.maxAttempts, error: lastError };
}
