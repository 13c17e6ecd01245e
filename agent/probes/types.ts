export interface ProbeOutcome {
  ok: boolean;
  /** Why it passed or failed, for the report and the log. */
  detail: string;
}

export interface Probe {
  /** Stable name in reports and logs: forwarding, nat-rule, egress, forward-path. */
  readonly name: string;
  /** Must settle soon after `signal` aborts. */
  run(signal: AbortSignal): Promise<ProbeOutcome>;
}
