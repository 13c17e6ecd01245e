/**
 * Runs one scenario on one control scheme: builds the world, injects the faults, advances the
 * virtual clock, and reports the egress gap per zone and the chaos invariants.
 */
import type { ControllerConfig } from '../lambdas/core/config';
import { faultSettlesAt, scheduleFault, zoneName } from './faults';
import type { ControlMode } from './nat';
import { PROFILES, DEFAULT_PROFILE, type ProfileName, type WorldParams } from './params';
import type { Scenario } from './scenario';
import type { TimelineEntry } from './timeline';
import { SimWorld } from './world/world';

/** Virtual epoch: fixed, so timestamps in the output are stable. */
const EPOCH_MS = Date.UTC(2025, 0, 1, 0, 0, 0);

export interface RunOptions {
  seed: number;
  timeline?: boolean;
  /** The world's assumptions (params.ts). @default 'pessimistic' */
  profile?: ProfileName;
  world?: Partial<WorldParams>;
  controller?: Partial<ControllerConfig>;
  /** Shift every fault by this much (the bench draws it uniformly within a period). */
  faultOffsetMs?: number;
  /** Fixed phases of the schedule, alarms and ASG (ms); random from the seed when absent. */
  phases?: { schedule?: number; alarm?: number; asg?: number };
}

export interface Invariants {
  /** Unhealthy marks of a NAT that had been routing for a whole silence window. */
  routingNatsMarked: { instanceId: string; atSeconds: number }[];
  /** Zones whose private table was blackholed or on a dead NAT at the end, while a NAT worked. */
  brokenTablesAtEnd: string[];
  /**
   * Was every route on a working NAT by the end of the second reconcile after the last fault
   * settled (its end, plus the time its signal needs to reach the controller)?
   */
  convergence: { settlesAtSeconds: number; secondReconcileAtSeconds?: number; converged: boolean } | undefined;
  /** Unhealthy marks while CloudWatch ingestion was out (the safety valve must hold). */
  marksDuringMetricOutage: number;
  safetyValveTrips: number;
  /** Unhealthy marks made by a run an agent's failure report invoked, of a NAT that was routing then. */
  routingNatsMarkedOnReport: { instanceId: string; atSeconds: number }[];
  /** Route writes that took a table off its own zone's healthy, in-service NAT (see SimWorld.falseMoves). */
  falseRouteMoves: { zone: string; atSeconds: number; source: string }[];
  /** Unhealthy marks of a NAT that was routing at that moment (whatever its recent past). */
  marksOfRoutingNats: number;
}

export interface TrustOutcome {
  compromised: string[];
  /** Forgery attempts by kind and outcome ("metrics AccessDenied 403": n). */
  forgeries: Record<string, number>;
  /** Unhealthy marks of NATs that were routing and are not compromised. */
  healthyPeersMarked: number;
  /** Routes of another zone written to a compromised NAT. */
  tablesAttracted: number;
  /** Route writes that took a healthy zone (its NAT routing, not compromised) off its NAT. */
  healthyZoneMoves: number;
}

export interface RunResult {
  scenario: string;
  mode: ControlMode;
  seed: number;
  faultAtMs: number;
  endMs: number;
  /** Seconds without egress per zone after the first fault (zones whose workloads are down excluded). */
  gapByZone: Record<string, number>;
  /** The worst zone. */
  egressGapSeconds: number;
  /**
   * The worst zone's time without a working route as written: from the fault until the last
   * affected table's route was written to a working NAT (propagation excluded).
   */
  routeWrittenSeconds: number;
  /** Connections reset by route changes (every zone, the whole run after the fault). */
  flowsReset: number;
  /** Route changes traffic followed after the fault, with whether each was planned. */
  routeMoves: { zone: string; atSeconds: number; planned: boolean; flowsReset: number }[];
  /** true when a zone was still without egress at the end of the run (the gap is then a lower bound). */
  unrepaired: boolean;
  timeline: TimelineEntry[];
  invariants: Invariants;
  reconcileRuns: number;
  controllerMetrics: Record<string, number>;
  usage: { putMetricData: number; getMetricData: number; metricsRead: number; throttledCalls: number };
  /** What compromised NATs tried and what it got them (trust-rule clauses a–c). */
  trust: TrustOutcome;
  /** Intake requests: how many, cold, throttled, p99 ms. */
  intake: { requests: number; cold: number; throttled: number; p99Ms: number | null };
  /** Failure reports the agents sent, paging alarms (ZoneSilent → ALARM), agent process crashes. */
  reports: number;
  pages: number;
  agentCrashes: number;
}

export async function runScenario(scenario: Scenario, mode: ControlMode, options: RunOptions): Promise<RunResult> {
  const params: WorldParams = { ...PROFILES[options.profile ?? DEFAULT_PROFILE], ...(scenario.world as Partial<WorldParams> | undefined), ...options.world };
  const controller = { ...(scenario.controller as Partial<ControllerConfig> | undefined), ...options.controller };
  const zones = Array.from({ length: scenario.zones }, (_, k) => `us-east-1${String.fromCharCode(97 + k)}`);
  const world = new SimWorld({
    mode,
    zones,
    params,
    seed: options.seed,
    startMs: EPOCH_MS,
    controllerStartsAfterMs: 90_000,
    controller,
    lifecycleDelivery: { loss: 0, duplicate: 0, reorderSeconds: 0, ...scenario.lifecycleEvents },
    timeline: options.timeline ?? true,
    schedulePhaseMs: options.phases?.schedule,
    alarmPhaseMs: options.phases?.alarm,
    asgPhaseMs: options.phases?.asg,
  });
  const faultAtMs = EPOCH_MS + scenario.warmupSeconds * 1000 + (options.faultOffsetMs ?? 0);
  for (const fault of scenario.faults) scheduleFault(world, fault, faultAtMs);

  const reconciles: { at: number; converged: boolean }[] = [];
  if (world.reconcileLambda) {
    world.reconcileLambda.onFinished = () => reconciles.push({ at: world.ctx.clock.now(), converged: world.routesConverged() });
  }
  const firstFaultMs = faultAtMs + Math.min(...scenario.faults.map((f) => f.at)) * 1000;
  const endMs = faultAtMs + scenario.durationSeconds * 1000;
  await world.ctx.clock.run(endMs);

  // Zones whose own workloads are down (a zone outage) have no egress to lose.
  const excluded = new Set([
    ...(scenario.workloadsDownIn ?? []).map((z) => zoneName(world, z)),
    ...scenario.faults.flatMap((f) => (f.kind === 'zone-outage' ? [zoneName(world, f.zone)] : [])),
  ]);
  const included = (gaps: Record<string, number>) => Object.fromEntries(Object.entries(gaps).filter(([zone]) => !excluded.has(zone)).map(([z, s]) => [z, round(s)]));
  const gapByZone = included(world.egress.gapSeconds(firstFaultMs, endMs));
  const writtenByZone = included(world.writtenEgress.gapSeconds(firstFaultMs, endMs));
  const config = world.config;
  const signalDelayMs =
    (config.silenceSeconds +
      params.heartbeatPeriodSeconds +
      params.metricVisibilitySeconds.max +
      params.alarmEvaluationSeconds * params.alarmEvaluationRangePeriods +
      2 * params.eventDeliverySeconds.max +
      params.routePropagationSeconds) *
    1000;
  const rel = (ms: number) => round((ms - faultAtMs) / 1000);

  const settles = faultAtMs + Math.max(...scenario.faults.map(faultSettlesAt)) * 1000 + signalDelayMs;
  const second = reconciles.filter((r) => r.at >= settles)[1];
  const convergence =
    mode === 'natbeat' ? { settlesAtSeconds: rel(settles), secondReconcileAtSeconds: second && rel(second.at), converged: second?.converged ?? false } : undefined;
  const outages = world.cloudWatch.outages;
  const totals: Record<string, number> = {};
  for (const m of world.metrics) for (const [k, v] of Object.entries(m.totals)) totals[k] = (totals[k] ?? 0) + v;
  const openAtEnd = world.egress.gaps.some((g) => g.to === undefined && !excluded.has(g.zone));

  return {
    scenario: scenario.name,
    mode,
    seed: options.seed,
    faultAtMs,
    endMs,
    gapByZone,
    egressGapSeconds: Math.max(0, ...Object.values(gapByZone)),
    routeWrittenSeconds: Math.max(0, ...Object.values(writtenByZone)),
    flowsReset: world.flows.moves.filter((m) => m.at >= firstFaultMs).reduce((n, m) => n + m.flowsReset, 0),
    routeMoves: world.flows.moves.filter((m) => m.at >= firstFaultMs).map((m) => ({ zone: m.zone, atSeconds: rel(m.at), planned: m.planned, flowsReset: m.flowsReset })),
    unrepaired: openAtEnd,
    timeline: world.ctx.timeline.entries,
    invariants: {
      routingNatsMarked: world.marks
        .filter((m) => m.routing && (m.lastBrokenAt === undefined || m.at - m.lastBrokenAt > config.silenceSeconds * 1000))
        .map((m) => ({ instanceId: m.instanceId, atSeconds: rel(m.at) })),
      brokenTablesAtEnd: world.routesConverged() ? [] : world.brokenTables(),
      convergence,
      marksDuringMetricOutage: world.marks.filter((m) => outages.some((o) => m.at >= o.from && m.at < o.until + signalDelayMs)).length,
      safetyValveTrips: totals.SafetyValveTrips ?? 0,
      routingNatsMarkedOnReport: world.marks.filter((m) => m.routing && m.source.startsWith('report')).map((m) => ({ instanceId: m.instanceId, atSeconds: rel(m.at) })),
      falseRouteMoves: world.falseMoves.map((m) => ({ zone: m.zone, atSeconds: rel(m.at), source: m.source })),
      marksOfRoutingNats: world.marks.filter((m) => m.routing).length,
    },
    reconcileRuns: world.reconcileLambda?.records.length ?? 0,
    controllerMetrics: totals,
    usage: { ...world.cloudWatch.usage, throttledCalls: world.throttle.throttledCalls },
    trust: trustOutcome(world),
    intake: intakeOutcome(world),
    reports: world.reports.length,
    pages: world.pages.length,
    agentCrashes: [...world.nats.values()].reduce((n, h) => n + h.agentCrashes, 0),
  };
}

function trustOutcome(world: SimWorld): TrustOutcome {
  const compromised = world.compromised;
  const forgeries: Record<string, number> = {};
  for (const f of world.forgeries) forgeries[`${f.kind} ${f.outcome}`] = (forgeries[`${f.kind} ${f.outcome}`] ?? 0) + 1;
  const homeOf = (zone: string) => [...compromised].some((id) => world.ec2.instances.get(id)?.availabilityZone === zone);
  return {
    compromised: [...compromised],
    forgeries,
    healthyPeersMarked: world.marks.filter((m) => m.routing && !compromised.has(m.instanceId)).length,
    tablesAttracted: world.routeWrites.filter((w) => w.to !== undefined && compromised.has(w.to) && !homeOf(w.zone)).length,
    healthyZoneMoves: world.falseMoves.filter((m) => !compromised.has(m.from)).length,
  };
}

function intakeOutcome(world: SimWorld): RunResult['intake'] {
  const requests = world.intake?.requests ?? [];
  const ms = requests.map((r) => r.ms).sort((a, b) => a - b);
  return {
    requests: requests.length,
    cold: requests.filter((r) => r.cold).length,
    throttled: requests.filter((r) => r.statusCode === 429).length,
    p99Ms: ms.length > 0 ? Math.round(ms[Math.min(ms.length - 1, Math.ceil(ms.length * 0.99) - 1)]!) : null,
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
