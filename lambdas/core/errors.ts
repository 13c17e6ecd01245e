/** Base of every error natbeat raises itself; `context` names the resource it concerns. */
export class NatbeatError extends Error {
  readonly context: Record<string, unknown>;
  constructor(message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}

/** A setting is missing or out of range. Raised at cold start; the function does nothing. */
export class ConfigError extends NatbeatError {}

/** An AWS read failed, so the part of the snapshot it feeds is unknown. */
export class ObserveError extends NatbeatError {}

/** The error code of an AWS SDK exception (`name`, or `Code` for query protocols). */
export function awsErrorCode(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { name?: unknown; Code?: unknown; code?: unknown };
    for (const candidate of [e.Code, e.code, e.name]) {
      if (typeof candidate === 'string' && candidate.length > 0) return candidate;
    }
  }
  return 'Unknown';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
