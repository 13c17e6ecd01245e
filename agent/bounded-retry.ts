/**
 * What the agent's retries share: a sleep the caller's deadline (`signal`) cuts short, and which
 * errors a retry may change. The SDK's own retries are off in the agent, so the cycle's deadline
 * bounds everything; the retry loop itself is IntakeClient.send (it keeps the intake's answer and
 * waits out a 429).
 */

/** Resolves after `ms`, or at once when `signal` aborts (or already has). Never rejects. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
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
