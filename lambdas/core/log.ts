/**
 * The slice of a structured logger the core needs. Powertools' Logger satisfies it; tests and
 * the CLI pass lighter ones.
 */
export interface ActionLog {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** A logger that drops everything: for callers that report results themselves. */
export const silentLog: ActionLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
