/** What happened, when: the world and the run write here; the demo prints and draws it. */
export type TimelineKind =
  | 'fault' // a fault injected or cleared
  | 'nat' // a NAT's data plane or agent changed
  | 'heartbeat' // an explicit failure published, or a first beat after boot
  | 'alarm' // a CloudWatch alarm changed state
  | 'lambda' // a controller invocation
  | 'asg' // Auto Scaling activity: health, launch, terminate, hooks
  | 'route' // a default route written or gone blackhole
  | 'egress' // a zone lost or regained internet egress
  | 'flows'; // traffic started following a new route: the connections it reset

export interface TimelineEntry {
  atMs: number;
  kind: TimelineKind;
  zone?: string;
  message: string;
}

export class Timeline {
  readonly entries: TimelineEntry[] = [];

  constructor(
    private readonly now: () => number,
    /** Off in the bench: thousands of trials need no story. */
    private readonly enabled = true,
  ) {}

  record(kind: TimelineKind, message: string, zone?: string): void {
    if (this.enabled) this.entries.push({ atMs: this.now(), kind, message, ...(zone ? { zone } : {}) });
  }
}

/**
 * Consecutive entries of one kind, zone and message (an agent publishing the same failing
 * heartbeat every period) as one entry with how often it came and when the last one did.
 */
export function collapseRepeats(entries: TimelineEntry[]): (TimelineEntry & { repeats: number; lastAtMs: number })[] {
  const out: (TimelineEntry & { repeats: number; lastAtMs: number })[] = [];
  const open = new Map<string, TimelineEntry & { repeats: number; lastAtMs: number }>();
  for (const e of entries) {
    const key = `${e.kind}|${e.zone ?? ''}|${e.message}`;
    const same = open.get(key);
    // Repeats interleaved with other zones' or kinds' entries still collapse; anything else of the
    // same zone in between ends the run.
    if (same) {
      same.repeats++;
      same.lastAtMs = e.atMs;
      continue;
    }
    for (const [k, v] of open) if (v.zone === e.zone) open.delete(k);
    const entry = { ...e, repeats: 1, lastAtMs: e.atMs };
    out.push(entry);
    open.set(key, entry);
  }
  return out;
}
