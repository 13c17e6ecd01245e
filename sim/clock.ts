/**
 * The virtual clock: a discrete-event queue. Everything in the simulated world (timers, API
 * latency, Lambda runs, the agent's sleeps) waits on it, so an hour of AWS runs in well under a
 * second and every run with the same seed is the same.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

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
  /** Handlers in flight whose code may wait on real (not virtual) time between virtual waits. */
  private readonly realWork = new Set<RealWork>();
  private readonly realWorkStorage = new AsyncLocalStorage<RealWork>();
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
    const work = this.realWorkStorage.getStore();
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = this.after(ms, done);
      if (work) work.sleeping++;
      function done() {
        if (work) work.sleeping--;
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
   * Runs `work` as code that may wait on the real event loop between its virtual waits: a
   * handler's lazy `await import()` resolves only after a few turns of it, even once loaded. One
   * turn per event would let virtual time run on meanwhile (seconds, in a sparse queue), a delay
   * no Lambda has. So after each event the clock lets the real event loop turn until every such
   * work in flight waits on the virtual clock again (a `sleep` in its async context) or is done.
   */
  async withRealWork<T>(work: () => Promise<T>): Promise<T> {
    const entry: RealWork = { sleeping: 0 };
    this.realWork.add(entry);
    try {
      return await this.realWorkStorage.run(entry, work);
    } finally {
      this.realWork.delete(entry);
    }
  }

  private realWorkRunning(): boolean {
    for (const entry of this.realWork) if (entry.sleeping === 0) return true;
    return false;
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
      for (let turn = 0; turn < MAX_REAL_WORK_TURNS && this.realWorkRunning(); turn++) await settle();
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

/**
 * A bound on the turns per event (a loaded module's `import()` takes 2–8 here): work that waits on
 * another invocation's promise rather than the clock must not stall the run.
 */
const MAX_REAL_WORK_TURNS = 1_000;

interface RealWork {
  /** Its virtual sleeps pending: while any is, it waits on the clock. */
  sleeping: number;
}

// setImmediate runs after every queued microtask, so all promise chains have moved on.
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
