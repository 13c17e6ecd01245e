/** The agent's clock: injected, so tests and the simulator run cycles in no time. */
import { abortableSleep } from './bounded-retry';

export interface Clock {
  /** Wall-clock milliseconds (heartbeat timestamps come from it). */
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: abortableSleep,
};
