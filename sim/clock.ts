/**
 * The virtual clock: a discrete-event queue. Everything in the simulated world (timers, API
 * latency, Lambda runs, the agent's sleeps) waits on it, so an hour of AWS runs in well under a
 * second and every run with the same seed is the same.
 */
export interface Timer {
  cancel(): void;
}

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualClock {
  private time: number;
  private seq = 0;
  private readonly heap: Entry[] = [];
  /** Called after every event has settled (the egress tracker hooks in here). */
  onSettled: (() => void) | undefined;

  constructor(startMs: number) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  date(): Date {
    return new Date(this.time);
  }

  /** Runs `fn` at `at` (ms since the epoch); never in the past. */
  at(at: number, fn: () => void): Timer {
    const entry: Entry = { at: Math.max(at, this.time), seq: this.seq++, fn, cancelled: false };
    this.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  after(ms: number, fn: () => void): Timer {
    return this.at(this.time + Math.max(0, ms), fn);
  }

  /** Resolves after `ms` of virtual time, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = this.after(ms, done);
      function done() {
        timer.cancel();
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Every `periodMs` from `firstAt` until the returned timer is cancelled. */
  every(periodMs: number, firstAt: number, fn: () => void): Timer {
    let current: Timer;
    let stopped = false;
    const tick = (at: number) => {
      current = this.at(at, () => {
        if (stopped) return;
        fn();
        tick(at + periodMs);
      });
    };
    tick(firstAt);
    return {
      cancel: () => {
        stopped = true;
        current.cancel();
      },
    };
  }

  /**
   * Runs events up to `untilMs`. After each event, pending promise chains (SDK middleware, the
   * handlers, the agent) run to their next virtual wait before the next event is taken.
   */
  async run(untilMs: number): Promise<void> {
    for (;;) {
      const next = this.heap[0];
      if (!next || next.at > untilMs) break;
      this.pop();
      if (next.cancelled) continue;
      this.time = next.at;
      next.fn();
      await settle();
      this.onSettled?.();
    }
    this.time = Math.max(this.time, untilMs);
  }

  private push(entry: Entry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

// setImmediate runs after every queued microtask, so all promise chains have moved on.
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
