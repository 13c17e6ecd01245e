/**
 * The report log: the one place where what NATs say is kept, and only the intake writes it.
 * A DynamoDB table per deployment (on demand, TTL on `expiresAt`): the intake appends one item per
 * accepted heartbeat and one per (witness, unreachable peer); the controller reads it with
 * strongly consistent Queries, so what a NAT said is visible to the very next reconcile, with no
 * metric-pipeline delay, and a NAT can only ever speak for itself (the intake takes the instance
 * id from the verified caller, never from the body; no NAT role may touch the table).
 *
 *   pk = instanceId (the NAT the item is about)
 *   sk = `beat#<13-digit epoch ms>`                    its own heartbeat (status 1 ok / 0 failing)
 *        `witness#<13-digit epoch ms>#<witness id>`    another NAT says it cannot reach pk
 *
 * Times are the intake's receive times, never the agent's. Pure helpers only: the intake, the
 * controller, the CLI and the simulator share them, so writer and readers cannot drift apart.
 */

export const REPORT_KEY = { partition: 'pk', sort: 'sk' } as const;
export const REPORT_TTL_ATTRIBUTE = 'expiresAt';

/** The environment variable naming the table, in the intake (writer) and the controller (reader). */
export const REPORT_TABLE_ENV = 'NATBEAT_REPORT_TABLE';

/** Items live this long (TTL): far beyond any window the controller reads; deletion is free. */
export const REPORT_RETENTION_SECONDS = 3_600;

export const BEAT_PREFIX = 'beat#';
export const WITNESS_PREFIX = 'witness#';

/** 13 digits cover epoch ms until the year 2286, so string order is time order. */
const pad = (ms: number) => Math.max(0, Math.floor(ms)).toString().padStart(13, '0');

export function beatSortKey(atMs: number): string {
  return `${BEAT_PREFIX}${pad(atMs)}`;
}

export function witnessSortKey(atMs: number, witnessId: string): string {
  return `${WITNESS_PREFIX}${pad(atMs)}#${witnessId}`;
}

/** Sort-key range of one kind of item received in [fromMs, toMs] (for a Query's BETWEEN). */
export function sortKeyRange(prefix: typeof BEAT_PREFIX | typeof WITNESS_PREFIX, fromMs: number, toMs: number): [string, string] {
  // `~` sorts after every digit and `#`, so the upper bound includes every witness id at toMs.
  return [`${prefix}${pad(fromMs)}`, `${prefix}${pad(toMs)}~`];
}

/** A heartbeat item as stored (attribute values, before DynamoDB's type wrapping). */
export interface BeatItem {
  pk: string;
  sk: string;
  /** 1 = every probe passed, 0 = the NAT says a probe failed. */
  status: 0 | 1;
  groupName: string;
  availabilityZone: string;
  /** The NAT's own failed probes (words for logs and `natbeat status`). */
  failedProbes?: string[];
  expiresAt: number;
}

/** A witness item as stored. */
export interface WitnessItem {
  pk: string;
  sk: string;
  witnessId: string;
  expiresAt: number;
}

export function beatItem(instanceId: string, atMs: number, status: 0 | 1, where: { groupName: string; availabilityZone: string }, failedProbes?: readonly string[]): BeatItem {
  return {
    pk: instanceId,
    sk: beatSortKey(atMs),
    status,
    groupName: where.groupName,
    availabilityZone: where.availabilityZone,
    ...(failedProbes && failedProbes.length > 0 ? { failedProbes: [...failedProbes] } : {}),
    expiresAt: Math.floor(atMs / 1000) + REPORT_RETENTION_SECONDS,
  };
}

export function witnessItem(subjectId: string, witnessId: string, atMs: number): WitnessItem {
  return { pk: subjectId, sk: witnessSortKey(atMs, witnessId), witnessId, expiresAt: Math.floor(atMs / 1000) + REPORT_RETENTION_SECONDS };
}

/** The receive time in a sort key, or undefined when it is not one of ours. */
export function timeOfSortKey(sk: string): number | undefined {
  const m = /^(?:beat#|witness#)(\d{13})(?:#|$)/.exec(sk);
  return m ? Number(m[1]) : undefined;
}
