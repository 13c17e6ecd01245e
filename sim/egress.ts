/**
 * Egress per zone: does a private subnet's default route lead, through a NAT that really
 * forwards, to the internet? Re-evaluated after every event, so gaps are exact to the event.
 * The data-plane view follows routes once they have propagated (the egress gap); the
 * control-plane view follows them as written (the time until the controller wrote a working route).
 */
import type { Ec2World, SimRouteTable } from './world/ec2';

export interface Gap {
  zone: string;
  from: number;
  to?: number;
}

export class EgressTracker {
  readonly gaps: Gap[] = [];
  private readonly open = new Map<string, Gap>();

  constructor(
    private readonly ec2: Ec2World,
    private readonly tables: Map<string, SimRouteTable>,
    private readonly onChange?: (zone: string, up: boolean) => void,
    private readonly view: 'data-plane' | 'control-plane' = 'data-plane',
  ) {}

  hasEgress(zone: string): boolean {
    const table = this.tables.get(zone);
    const route = table && (this.view === 'data-plane' ? this.ec2.effectiveDefaultRoute(table) : this.ec2.defaultRoute(table));
    return route !== undefined && this.ec2.routeState(route) === 'active' && this.ec2.eniForwards(route.networkInterfaceId);
  }

  update(now: number): void {
    for (const zone of this.tables.keys()) {
      const up = this.hasEgress(zone);
      const gap = this.open.get(zone);
      if (!up && !gap) {
        const opened = { zone, from: now };
        this.open.set(zone, opened);
        this.gaps.push(opened);
        this.onChange?.(zone, false);
      } else if (up && gap) {
        gap.to = now;
        this.open.delete(zone);
        this.onChange?.(zone, true);
      }
    }
  }

  /** Seconds without egress in [from, to), per zone. */
  gapSeconds(from: number, to: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const zone of this.tables.keys()) out[zone] = 0;
    for (const gap of this.gaps) {
      const start = Math.max(gap.from, from);
      const end = Math.min(gap.to ?? to, to);
      if (end > start) out[gap.zone] = (out[gap.zone] ?? 0) + (end - start) / 1000;
    }
    return out;
  }
}
