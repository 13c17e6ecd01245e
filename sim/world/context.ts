import type { VirtualClock } from '../clock';
import type { WorldParams } from '../params';
import type { Random } from '../random';
import type { Timeline } from '../timeline';

/** What every part of the simulated world shares. */
export interface WorldContext {
  clock: VirtualClock;
  rng: Random;
  params: WorldParams;
  timeline: Timeline;
  /** Zones whose instances and launches are down (a whole-AZ outage). */
  zonesDown: Set<string>;
}

/** Request input as the SDK command carries it (validated by the world, like the service does). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Input = Record<string, any>;

export interface Filter {
  Name?: string;
  Values?: string[];
}

/** Page `items` by MaxResults/NextToken (NextToken is an opaque offset). */
export function page<T>(items: T[], maxResults: number | undefined, nextToken: string | undefined): { items: T[]; nextToken?: string } {
  const start = nextToken ? Number(nextToken) : 0;
  const size = maxResults ?? items.length;
  const slice = items.slice(start, start + size);
  const end = start + slice.length;
  return end < items.length ? { items: slice, nextToken: String(end) } : { items: slice };
}

/** Ids that look like AWS's, counted from 1 per prefix so runs are reproducible. */
export class IdFactory {
  private readonly counters = new Map<string, number>();
  next(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}-0${n.toString(16).padStart(16, '0')}`;
  }
}
