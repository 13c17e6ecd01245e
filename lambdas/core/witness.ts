/**
 * Peer witnesses: what one NAT says about another is a hint, believed only when the named NAT's
 * own beat corroborates it. A NAT is judged `unreachable` when
 *   - it is in service, past grace, and judged healthy on its own word so far,
 *   - its latest beat in the log (whatever it said) is older than a period plus the slack, and
 *   - at least one *other* NAT, itself healthy with its beat on time, named it in the witness
 *     window after that latest beat (a beat newer than a report overrules the report).
 * Its tables then move (to a NAT that did not name it, where there is one); it is never marked
 * Unhealthy on a witness's word: only its own silence for a whole window marks it. Why always the
 * subject's silence and not "two witnesses suffice": two honest witnesses on the far side of a
 * partition would otherwise move a zone's tables away from a NAT that still routes and beats.
 * Safety valve: many NATs overdue at once points at the intake or the log, not at the NATs: then
 * no witness is believed. Pure: no I/O, no clock.
 */
import { overdueAfterMs, type Assessed } from './assess';
import type { DecideConfig } from './decide';
import { LifecycleState, type Alert, type WitnessReport } from './types';

/** How far back observe reads witness reports, and decide believes them. */
export const WITNESS_WINDOW_SECONDS = 15;

export interface WitnessOutcome {
  /** The fleet with each corroborated subject judged `unreachable` (others unchanged). */
  assessed: Assessed[];
  /** Who named each unreachable NAT: the tables it loses go elsewhere where they can. */
  witnessesOf: Map<string, Set<string>>;
  /** Subjects that would have been believed, held back by the safety valve. */
  withheld: string[];
  alerts: Alert[];
}

export function applyWitnesses(
  assessed: Assessed[],
  witnesses: Map<string, WitnessReport[]> | undefined,
  config: DecideConfig,
  now: Date,
): WitnessOutcome {
  const witnessesOf = new Map<string, Set<string>>();
  if (!witnesses || witnesses.size === 0) return { assessed, witnessesOf, withheld: [], alerts: [] };
  const nowMs = now.getTime();
  const overdueMs = overdueAfterMs(config);
  const isOverdue = (n: Assessed) => n.latestBeatAt === undefined || nowMs - n.latestBeatAt.getTime() > overdueMs;
  const byId = new Map(assessed.map((n) => [n.instanceId, n]));
  // A witness vouches only while it is healthy and on time itself.
  const credible = (id: string) => {
    const w = byId.get(id);
    return w !== undefined && w.verdict === 'healthy' && !isOverdue(w);
  };
  const windowStart = nowMs - WITNESS_WINDOW_SECONDS * 1000;

  for (const subject of assessed) {
    if (subject.verdict !== 'healthy' || subject.lifecycleState !== LifecycleState.InService || subject.inGrace || !isOverdue(subject)) continue;
    const after = Math.max(windowStart, subject.latestBeatAt?.getTime() ?? Number.NEGATIVE_INFINITY);
    const named = new Set(
      (witnesses.get(subject.instanceId) ?? [])
        .filter((r) => r.at.getTime() > after && r.at.getTime() <= nowMs && r.witnessId !== subject.instanceId && credible(r.witnessId))
        .map((r) => r.witnessId),
    );
    if (named.size > 0) witnessesOf.set(subject.instanceId, named);
  }
  if (witnessesOf.size === 0) return { assessed, witnessesOf, withheld: [], alerts: [] };

  const fleet = assessed.filter(
    (n) => n.lifecycleState === LifecycleState.InService && n.verdict !== 'booting' && n.verdict !== 'leaving' && n.verdict !== 'unhealthy',
  );
  const overdue = fleet.filter(isOverdue);
  if (overdue.length > 1 && overdue.length > config.maxUnhealthyShare * fleet.length) {
    const withheld = [...witnessesOf.keys()];
    return {
      assessed,
      witnessesOf: new Map(),
      withheld,
      alerts: [
        {
          kind: 'SafetyValveTripped',
          message: `${overdue.length} of ${fleet.length} in-service NATs have no beat for over ${overdueMs / 1000} s (limit ${Math.round(config.maxUnhealthyShare * 100)} %): suspecting the intake or the report log, no witness report is believed and ${withheld.join(', ')} keep(s) its tables`,
          resourceIds: overdue.map((n) => n.instanceId),
        },
      ],
    };
  }

  return {
    assessed: assessed.map((n) => {
      const named = witnessesOf.get(n.instanceId);
      if (!named) return n;
      const silentFor = Math.round((nowMs - (n.latestBeatAt?.getTime() ?? nowMs)) / 1000);
      return {
        ...n,
        verdict: 'unreachable' as const,
        routable: false,
        stable: false,
        shouldMark: false,
        flapping: false,
        reason: `no beat for ${silentFor} s (period ${config.heartbeatPeriodSeconds} s + slack ${config.heartbeatSlackSeconds} s) and ${[...named].sort().join(', ')} cannot reach it`,
      };
    }),
    witnessesOf,
    withheld: [],
    alerts: [],
  };
}
