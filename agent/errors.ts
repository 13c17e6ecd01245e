/** One base error for the agent; subclasses say which part failed. `cause` is passed through. */
export class AgentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flags or environment: the CLI exits 2. */
export class ConfigError extends AgentError {}

/** Instance metadata unreachable or incomplete. */
export class IdentityError extends AgentError {}

/** A system command failed or timed out; carries what was run. */
export class CommandError extends AgentError {
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Configuring the host as a NAT failed. */
export class SetupError extends AgentError {}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
