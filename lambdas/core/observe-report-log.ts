/**
 * Reads what the NATs said from the report log (common/report-store.ts): for each judged NAT its
 * heartbeats over the lookback window and the witness items about it over the witness window.
 * Strongly consistent Queries, so an item the intake wrote before it woke this run is in it.
 * Times are the intake's receive times (in the sort key), never the agent's.
 */
import { paginateQuery, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { BEAT_PREFIX, REPORT_KEY, WITNESS_PREFIX, sortKeyRange, timeOfSortKey } from '../../common/report-store';
import type { AwsClients } from './clients';
import type { HeartbeatSample, WitnessReport } from './types';

/** Queries in flight at once: the SDK's default socket limit (50), so none waits for a socket. */
export const REPORT_QUERY_CONCURRENCY = 50;

export interface ReportLogWindow {
  table: string;
  /** Heartbeats received in [beatsFromMs, toMs]. */
  beatsFromMs: number;
  /** Witness items received in [witnessesFromMs, toMs], about NATs with no beat in the last overdueAfterMs. */
  witnessesFromMs: number;
  overdueAfterMs: number;
  toMs: number;
}

export interface ReportLog {
  /** Every NAT asked for has an entry (empty when it said nothing), oldest first. */
  heartbeats: Map<string, HeartbeatSample[]>;
  /** Subjects some peer named, each with who named it and when, oldest first. */
  witnesses: Map<string, WitnessReport[]>;
}

/**
 * Throws on any failed Query: a partial log would make a NAT look silent that is not. Witness items
 * are read only for NATs whose beat is overdue: decide believes a witness about no other NAT.
 */
export async function readReportLog(clients: AwsClients, instanceIds: string[], window: ReportLogWindow): Promise<ReportLog> {
  const heartbeats = new Map<string, HeartbeatSample[]>();
  await forEachLimited(instanceIds, REPORT_QUERY_CONCURRENCY, async (id) => {
    const range = sortKeyRange(BEAT_PREFIX, window.beatsFromMs, window.toMs);
    const samples = (await queryItems(clients, window.table, id, range)).flatMap((item): HeartbeatSample[] => {
      const atMs = timeOf(item);
      // Anything but a clear 1 is not a healthy beat.
      return atMs === undefined ? [] : [{ at: new Date(atMs), value: item.status?.N === '1' ? 1 : 0 }];
    });
    heartbeats.set(id, samples.sort((a, b) => a.at.getTime() - b.at.getTime()));
  });

  const witnesses = new Map<string, WitnessReport[]>();
  const overdueBefore = window.toMs - window.overdueAfterMs;
  const subjects = instanceIds.filter((id) => (heartbeats.get(id)?.at(-1)?.at.getTime() ?? Number.NEGATIVE_INFINITY) < overdueBefore);
  await forEachLimited(subjects, REPORT_QUERY_CONCURRENCY, async (id) => {
    const range = sortKeyRange(WITNESS_PREFIX, window.witnessesFromMs, window.toMs);
    const reports = (await queryItems(clients, window.table, id, range)).flatMap((item): WitnessReport[] => {
      const atMs = timeOf(item);
      const witnessId = item.witnessId?.S;
      return atMs === undefined || !witnessId ? [] : [{ witnessId, at: new Date(atMs) }];
    });
    if (reports.length > 0) witnesses.set(id, reports.sort((a, b) => a.at.getTime() - b.at.getTime()));
  });
  // In the order asked for, whatever order the Queries finished in.
  return { heartbeats: new Map(instanceIds.map((id) => [id, heartbeats.get(id)!])), witnesses };
}

function timeOf(item: Record<string, AttributeValue>): number | undefined {
  const sk = item[REPORT_KEY.sort]?.S;
  return sk === undefined ? undefined : timeOfSortKey(sk);
}

async function queryItems(clients: AwsClients, table: string, instanceId: string, [from, to]: [string, string]) {
  const items: Record<string, AttributeValue>[] = [];
  const pages = paginateQuery(
    { client: clients.dynamoDb },
    {
      TableName: table,
      ConsistentRead: true,
      KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
      // `status` is a DynamoDB reserved word: every attribute goes through a name placeholder.
      ProjectionExpression: '#sk, #status, #witness',
      ExpressionAttributeNames: { '#pk': REPORT_KEY.partition, '#sk': REPORT_KEY.sort, '#status': 'status', '#witness': 'witnessId' },
      ExpressionAttributeValues: { ':pk': { S: instanceId }, ':from': { S: from }, ':to': { S: to } },
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

/**
 * Runs `work` on every item with at most `limit` in flight. After a failure no new item starts, and
 * the first failure is thrown once the ones in flight have settled (nothing runs on unobserved).
 */
export async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      try {
        await work(items[next++]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
