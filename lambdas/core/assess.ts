/**
 * How the controller judges one NAT from its heartbeats, its lifecycle and its EC2 state: the
 * verdict, whether it may carry routes now (routable) or for good (stable), and whether it should
 * be replaced. Pure: no I/O, no clock.
 */
import type { DecideConfig } from './decide';
import { LifecycleState, type HeartbeatSample, type ManagedGroup, type NatAssessment, type NatInstance, type NatVerdict, type Snapshot } from './types';

/** How far back observe must read heartbeats for decide to judge silence and failback. */
export function heartbeatLookbackSeconds(config: DecideConfig): number {
  return config.silenceSeconds + (config.failbackHeartbeats + 1) * config.heartbeatPeriodSeconds;
}

/** A NAT's beat is overdue when none arrived for this long: one period plus the slack. */
export function overdueAfterMs(config: DecideConfig): number {
  return (config.heartbeatPeriodSeconds + config.heartbeatSlackSeconds) * 1000;
}

// States in which an instance may carry traffic (launching ones only once proved).
const SERVING_STATES = new Set<string>([LifecycleState.InService, 'Pending', LifecycleState.PendingWait, 'Pending:Proceed']);

export interface Assessed extends NatAssessment {
  instance: NatInstance;
  /** Past grace with no healthy heartbeat in the silence window: to be replaced. */
  shouldMark: boolean;
  /** Healthy now, but failed more than once in the heartbeat window. */
  flapping: boolean;
  launchedSecondsAgo?: number;
  /** Its latest beat in the log, whatever it said. */
  latestBeatAt?: Date;
  /** Launched less than its grace period ago (or still in its launch hook). */
  inGrace: boolean;
}

export function assessNat(
  instance: NatInstance,
  group: ManagedGroup,
  snapshot: Snapshot,
  config: DecideConfig,
  now: Date,
): Assessed {
  const samples = snapshot.heartbeats.get(instance.instanceId) ?? [];
  const latest = samples.at(-1);
  const lastHealthy = lastHealthySample(samples);
  const silenceMs = config.silenceSeconds * 1000;
  const fresh = latest !== undefined && now.getTime() - latest.at.getTime() <= silenceMs;
  const healthyRecently = lastHealthy !== undefined && now.getTime() - lastHealthy.at.getTime() <= silenceMs;
  const launchedSecondsAgo = instance.launchTime ? (now.getTime() - instance.launchTime.getTime()) / 1000 : undefined;
  const graceSeconds = Math.max(config.graceSeconds, group.healthCheckGracePeriodSeconds);
  const inGrace = launchedSecondsAgo !== undefined && launchedSecondsAgo < graceSeconds;

  const launching = instance.lifecycleState !== LifecycleState.InService;
  const facts: NatFacts = { instance, lastHeartbeatAt: lastHealthy?.at, latestBeatAt: latest?.at, launchedSecondsAgo, inGrace: launching || inGrace };

  if (instance.ec2State !== 'running') {
    return judged(facts, 'leaving', false, false, false, `EC2 state is ${instance.ec2State ?? 'unknown (instance not found)'}`);
  }
  if (!SERVING_STATES.has(instance.lifecycleState)) {
    return judged(facts, 'leaving', false, false, false, `lifecycle state ${instance.lifecycleState}`);
  }
  if (instance.healthStatus !== 'Healthy') {
    return judged(facts, 'unhealthy', false, false, false, `marked ${instance.healthStatus} in ${instance.groupName}, awaiting replacement`);
  }

  // A gap longer than a period and its slack is a failure episode: a NAT that was unreachable and
  // overdue (its tables moved on a witness's word) must prove itself again before failback.
  const gapMs = overdueAfterMs(config);
  const trailing = trailingHealthyRun(samples, gapMs);
  // Stable = may take traffic for good: enough healthy beats in a row since its last failure, or
  // no failure in sight at all (a fresh NAT has no history to flap on: its first beat is enough).
  const episodes = failureEpisodes(samples, launching || inGrace, config, now);
  const stable = fresh && latest.value >= 1 && (trailing >= config.failbackHeartbeats || episodes === 0);
  // Failed, recovered and failed again within the window: keeps costing traffic if it keeps its tables.
  const flapping = fresh && latest.value >= 1 && !stable && episodes >= 2;
  const hasEni = instance.networkInterfaceId !== undefined && instance.vpcId !== undefined;

  if (fresh && latest.value >= 1) {
    facts.flapping = flapping;
    return judged(
      facts,
      'healthy',
      hasEni,
      stable,
      false,
      hasEni
        ? `healthy heartbeat ${ago(now, latest.at)} ago (${trailing} in a row)`
        : 'healthy heartbeat, but no primary network interface to route to',
    );
  }
  // Replacement is destructive, so only a NAT that has not proved itself for a whole silence
  // window is marked; its routes move away at the first explicit failure already.
  const shouldMark = !launching && !inGrace && !healthyRecently;
  if (fresh) {
    const since = lastHealthy ? `; last healthy heartbeat ${ago(now, lastHealthy.at)} ago` : '';
    return judged(facts, 'failing', false, false, shouldMark, `agent reports a failed probe ${ago(now, latest.at)} ago${since}`);
  }
  if (launching || inGrace) {
    const launched = launchedSecondsAgo === undefined ? '?' : Math.round(launchedSecondsAgo);
    const waiting = launching ? 'waiting for proof in its launch hook' : `grace period ${graceSeconds} s`;
    return judged(facts, 'booting', false, false, false, `launched ${launched} s ago, no heartbeat yet (${waiting})`);
  }
  return judged(
    facts,
    'silent',
    false,
    false,
    shouldMark,
    lastHealthy
      ? `no heartbeat for ${ago(now, lastHealthy.at)} (silence window ${config.silenceSeconds} s)`
      : `no heartbeat since launch ${Math.round(launchedSecondsAgo ?? 0)} s ago (silence window ${config.silenceSeconds} s)`,
  );
}

interface NatFacts {
  instance: NatInstance;
  lastHeartbeatAt?: Date;
  latestBeatAt?: Date;
  launchedSecondsAgo?: number;
  inGrace: boolean;
  flapping?: boolean;
}

// One object literal with a fixed shape per NAT, built by a module-level function: this runs
// for every NAT of every fleet, so no closures or spreads per call.
function judged(
  facts: NatFacts,
  verdict: NatVerdict,
  routable: boolean,
  stable: boolean,
  shouldMark: boolean,
  reason: string,
): Assessed {
  const { instance } = facts;
  return {
    instance,
    instanceId: instance.instanceId,
    groupName: instance.groupName,
    availabilityZone: instance.availabilityZone,
    vpcId: instance.vpcId,
    lifecycleState: instance.lifecycleState,
    verdict,
    routable,
    stable,
    lastHeartbeatAt: facts.lastHeartbeatAt,
    reason,
    shouldMark,
    flapping: facts.flapping ?? false,
    launchedSecondsAgo: facts.launchedSecondsAgo,
    latestBeatAt: facts.latestBeatAt,
    inGrace: facts.inGrace,
  };
}

/**
 * Failure episodes in the heartbeat window: runs of explicit 0s, gaps longer than a period and its
 * slack between beats, and — unless the NAT is still booting — such a gap before its first beat.
 */
function failureEpisodes(samples: HeartbeatSample[], booting: boolean, config: DecideConfig, now: Date): number {
  const gapMs = overdueAfterMs(config);
  let previous = booting ? undefined : now.getTime() - heartbeatLookbackSeconds(config) * 1000;
  let episodes = 0;
  let failing = false;
  for (const sample of samples) {
    const gap = previous !== undefined && sample.at.getTime() - previous > gapMs;
    if ((gap || sample.value < 1) && !failing) episodes++;
    failing = sample.value < 1;
    previous = sample.at.getTime();
  }
  return episodes;
}

/** Healthy samples at the end of the series with no gap longer than `gapMs` between them. */
function trailingHealthyRun(samples: HeartbeatSample[], gapMs: number): number {
  let run = 0;
  for (let i = samples.length - 1; i >= 0; i--) {
    const sample = samples[i]!;
    if (sample.value < 1) break;
    const next = samples[i + 1];
    if (next && next.at.getTime() - sample.at.getTime() > gapMs) break;
    run++;
  }
  return run;
}

function lastHealthySample(samples: HeartbeatSample[]): HeartbeatSample | undefined {
  for (let i = samples.length - 1; i >= 0; i--) if (samples[i]!.value >= 1) return samples[i];
  return undefined;
}

function ago(now: Date, at: Date): string {
  return `${Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000))} s`;
}
