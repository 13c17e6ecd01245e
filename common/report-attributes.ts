/**
 * The report log's items in DynamoDB's attribute-value form, both ways: the intake writes with
 * `beatAttributes` / `witnessAttributes`, readers decode with `readBeat` / `readWitness`, so what
 * is written and what is read cannot drift apart. Plain objects only (no SDK import): the shapes
 * are DynamoDB's `AttributeValue` (S, N, L).
 */
import { timeOfSortKey, type BeatItem, type WitnessItem } from './report-store';

/** The attribute-value shapes the report log uses. */
export type ReportAttributeValue = { S: string } | { N: string } | { L: { S: string }[] };
export type ReportAttributes = Record<string, ReportAttributeValue>;

export function beatAttributes(item: BeatItem): ReportAttributes {
  return {
    pk: { S: item.pk },
    sk: { S: item.sk },
    status: { N: String(item.status) },
    groupName: { S: item.groupName },
    availabilityZone: { S: item.availabilityZone },
    // A list, not a string set: a set cannot be empty and drops repeats.
    ...(item.failedProbes && item.failedProbes.length > 0 ? { failedProbes: { L: item.failedProbes.map((S) => ({ S })) } } : {}),
    expiresAt: { N: String(item.expiresAt) },
  };
}

export function witnessAttributes(item: WitnessItem): ReportAttributes {
  return { pk: { S: item.pk }, sk: { S: item.sk }, witnessId: { S: item.witnessId }, expiresAt: { N: String(item.expiresAt) } };
}

/** An item as a reader gets it back (any attribute may be missing or of another type). */
type ReadAttributes = Record<string, { S?: string; N?: string; L?: { S?: string }[] } | undefined>;

const text = (attrs: ReadAttributes, name: string) => attrs[name]?.S;
const number = (attrs: ReadAttributes, name: string) => {
  const n = Number(attrs[name]?.N);
  return attrs[name]?.N !== undefined && Number.isFinite(n) ? n : undefined;
};

/** A heartbeat and its receive time, or undefined when the item is not a well-formed beat. */
export function readBeat(attrs: ReadAttributes): (BeatItem & { atMs: number }) | undefined {
  const pk = text(attrs, 'pk');
  const sk = text(attrs, 'sk');
  const status = number(attrs, 'status');
  const atMs = sk === undefined ? undefined : timeOfSortKey(sk);
  if (pk === undefined || sk === undefined || !sk.startsWith('beat#') || atMs === undefined || (status !== 0 && status !== 1)) return undefined;
  const failedProbes = attrs.failedProbes?.L?.map((v) => v.S).filter((s): s is string => typeof s === 'string');
  return {
    pk,
    sk,
    atMs,
    status,
    groupName: text(attrs, 'groupName') ?? '',
    availabilityZone: text(attrs, 'availabilityZone') ?? '',
    ...(failedProbes && failedProbes.length > 0 ? { failedProbes } : {}),
    expiresAt: number(attrs, 'expiresAt') ?? 0,
  };
}

/** A witness item and its receive time, or undefined when the item is not a well-formed one. */
export function readWitness(attrs: ReadAttributes): (WitnessItem & { atMs: number }) | undefined {
  const pk = text(attrs, 'pk');
  const sk = text(attrs, 'sk');
  const witnessId = text(attrs, 'witnessId');
  const atMs = sk === undefined ? undefined : timeOfSortKey(sk);
  if (pk === undefined || sk === undefined || !sk.startsWith('witness#') || atMs === undefined || witnessId === undefined) return undefined;
  return { pk, sk, atMs, witnessId, expiresAt: number(attrs, 'expiresAt') ?? 0 };
}
