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
