/**
 * Request rate limits: EC2's per-account token buckets (Describe* and mutating calls), and an
 * optional "storm" during which another tenant of the account has drained the buckets, so most
 * calls are throttled whatever natbeat does.
 */
import type { WorldContext } from './context';
import type { Service } from './errors';

class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface ThrottlingStorm {
  from: number;
  until: number;
  /** Share of calls throttled while it lasts (0–1). */
  share: number;
  services: Service[];
}

const MUTATING = new Set(['ModifyInstanceAttribute', 'AssociateAddress', 'CreateRoute', 'ReplaceRoute', 'CompleteLifecycleAction', 'SetInstanceHealth', 'PutItem']);

export function isMutating(command: string): boolean {
  return MUTATING.has(command);
}

export class Throttle {
  private readonly describe: TokenBucket;
  private readonly mutate: TokenBucket;
  readonly storms: ThrottlingStorm[] = [];
  throttledCalls = 0;

  constructor(private readonly ctx: WorldContext) {
    const now = ctx.clock.now();
    this.describe = new TokenBucket(...ctx.params.ec2DescribeBucket, now);
    this.mutate = new TokenBucket(...ctx.params.ec2MutateBucket, now);
  }

  /** True when this call is throttled. */
  throttled(service: Service, command: string): boolean {
    const now = this.ctx.clock.now();
    const storm = this.storms.find((s) => now >= s.from && now < s.until && s.services.includes(service));
    let throttled = storm !== undefined && this.ctx.rng.chance(storm.share);
    if (!throttled && service === 'ec2') throttled = !(isMutating(command) ? this.mutate : this.describe).take(now);
    if (throttled) this.throttledCalls++;
    return throttled;
  }
}
