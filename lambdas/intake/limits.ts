/**
 * The intake's per-execution-environment limits (reserved concurrency bounds how many
 * environments there are): what one NAT can make the intake write or wake, however often it calls.
 */

/** One event per key per interval; the key's time is recorded only for what was actually done. */
export class IntervalLimiter {
  private readonly lastAt = new Map<string, number>();

  constructor(
    readonly intervalMs: number,
    /** Keys kept at most; the oldest go first (a fleet has far fewer NATs). */
    private readonly maxKeys = 4_096,
  ) {}

  /** Milliseconds since the key's last recorded event (Infinity: never). */
  since(key: string, nowMs: number): number {
    const last = this.lastAt.get(key);
    return last === undefined ? Number.POSITIVE_INFINITY : nowMs - last;
  }

  allows(key: string, nowMs: number): boolean {
    return this.since(key, nowMs) >= this.intervalMs;
  }

  record(key: string, nowMs: number): void {
    this.lastAt.delete(key);
    this.lastAt.set(key, nowMs);
    while (this.lastAt.size > this.maxKeys) this.lastAt.delete(this.lastAt.keys().next().value as string);
  }
}

/**
 * Which peers each witness named that no wake has yet covered. A peer is new until a witness
 * report about it woke reconcile; a peer the witness stops naming is forgotten, so naming it
 * again later is new again. A wake skipped by the rate limit leaves the peer new for the next body.
 */
export class NamedPeers {
  private readonly covered = new Map<string, Set<string>>();

  constructor(private readonly maxWitnesses = 4_096) {}

  /** Peers in `named` not yet covered by a wake; forgets covered peers no longer named. */
  newlyNamed(witnessId: string, named: readonly string[]): string[] {
    const covered = this.covered.get(witnessId);
    if (!covered) return [...named];
    for (const peer of covered) if (!named.includes(peer)) covered.delete(peer);
    return named.filter((peer) => !covered.has(peer));
  }

  /** A wake about these peers went out. */
  woken(witnessId: string, peers: readonly string[]): void {
    const covered = this.covered.get(witnessId) ?? new Set<string>();
    for (const peer of peers) covered.add(peer);
    this.covered.delete(witnessId);
    this.covered.set(witnessId, covered);
    while (this.covered.size > this.maxWitnesses) this.covered.delete(this.covered.keys().next().value as string);
  }
}
