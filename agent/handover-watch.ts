/**
 * `run` follows the handover tag the controller writes on this NAT before it moves route tables
 * here: while the tag names another NAT and its time has not passed, hand mid-stream flows to that
 * NAT; once it has passed (the drain time) or the tag is gone, stop. The tag is read through
 * instance metadata every poll; ensure/remove are idempotent, so a restart converges as well.
 */
import { HANDOVER_TAG_KEY, parseHandoverTag } from '../common/handover';
import { errorMessage } from './errors';
import type { Logger } from './log';

/** Instance metadata is local and free; the controller writes the tag before it moves the routes. */
export const HANDOVER_POLL_MS = 1000;
/** An applied handover is re-checked this often (someone may have flushed a rule); a failed one retried. */
export const HANDOVER_RECHECK_MS = 60_000;
export const HANDOVER_TAG_PATH = `meta-data/tags/instance/${HANDOVER_TAG_KEY}`;

export interface HandoverWatchDeps {
  /** The tag's value, or undefined when this instance has no such tag. */
  readTag(): Promise<string | undefined>;
  ensure(oldAddress: string): Promise<string[]>;
  remove(): Promise<string[]>;
  now(): number;
  log: Logger;
}

export class HandoverWatcher {
  /** "on ADDRESS" or "off" as last applied; undefined before the first success (left-over state unknown). */
  private appliedKey: string | undefined;
  private appliedAt = 0;
  private failedKey: string | undefined;
  private failedAt = 0;
  private lastProblem: string | undefined;

  constructor(private readonly deps: HandoverWatchDeps) {}

  private problem(message: string): void {
    if (message !== this.lastProblem) this.deps.log('warn', message);
    this.lastProblem = message;
  }

  async tick(): Promise<void> {
    const { deps } = this;
    let text: string | undefined;
    try {
      text = await deps.readTag();
    } catch (error) {
      // Keep whatever is applied: a metadata hiccup must not cut handed-over flows.
      return this.problem(`handover tag unreadable, keeping the current state: ${errorMessage(error)}`);
    }
    const tag = text === undefined ? undefined : parseHandoverTag(text);
    if (text !== undefined && !tag) this.problem(`handover tag ${HANDOVER_TAG_KEY}="${text}" is not "ADDRESS until TIME"; not handing over`);
    const now = deps.now();
    const address = tag && tag.until.getTime() > now ? tag.address : undefined;
    const key = address ? `on ${address}` : 'off';
    if (key === this.appliedKey && (key === 'off' || now - this.appliedAt < HANDOVER_RECHECK_MS)) return;
    if (key === this.failedKey && now - this.failedAt < HANDOVER_RECHECK_MS) return;
    try {
      const changes = address ? await deps.ensure(address) : await deps.remove();
      if (changes.length > 0) {
        deps.log('info', address ? `handing mid-stream flows over to ${address} until ${tag?.until.toISOString()}` : 'handover stopped', { changes });
      }
      this.appliedKey = key;
      this.appliedAt = now;
      this.failedKey = undefined;
      this.lastProblem = undefined;
    } catch (error) {
      this.appliedKey = undefined;
      this.failedKey = key;
      this.failedAt = now;
      this.problem(`handover ${address ? `to ${address}` : 'tear-down'} failed (retried in ${HANDOVER_RECHECK_MS / 1000} s): ${errorMessage(error)}`);
    }
  }
}

/** Ticks every HANDOVER_POLL_MS until `signal` aborts. */
export async function watchHandover(watcher: HandoverWatcher, sleep: (ms: number, signal: AbortSignal) => Promise<void>, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await watcher.tick();
    await sleep(HANDOVER_POLL_MS, signal);
  }
}
