/** Percentiles of measured gaps (nearest rank); unrepaired trials count as infinitely long. */
export interface GapStats {
  trials: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  /** Trials in which a zone was still without egress when the run ended. */
  neverRepaired: number;
}

export function gapStats(gaps: { seconds: number; unrepaired: boolean }[]): GapStats {
  const values = gaps.map((g) => (g.unrepaired ? Number.POSITIVE_INFINITY : g.seconds)).sort((a, b) => a - b);
  const rank = (p: number) => {
    const v = values[Math.min(values.length - 1, Math.max(0, Math.ceil(p * values.length) - 1))];
    return v === undefined || !Number.isFinite(v) ? null : Math.round(v * 10) / 10;
  };
  return { trials: values.length, p50: rank(0.5), p99: rank(0.99), max: rank(1), neverRepaired: gaps.filter((g) => g.unrepaired).length };
}
