/**
 * The report log as tests write it: items exactly as common/report-store.ts builds them, in
 * DynamoDB's attribute-value form, and the table as a deployment has it (pk/sk strings, on demand).
 */
import { BatchWriteItemCommand, CreateTableCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REPORT_KEY, beatItem, witnessItem, type BeatItem, type WitnessItem } from '../../common/report-store';

/** A report item (strings, numbers, string lists) in DynamoDB's wire form. */
export function toAttributeValues(item: BeatItem | WitnessItem): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(item)) {
    if (typeof value === 'string') out[key] = { S: value };
    else if (typeof value === 'number') out[key] = { N: String(value) };
    else if (Array.isArray(value)) out[key] = { L: value.map((v: string) => ({ S: v })) };
  }
  return out;
}

export async function createReportTable(dynamoDb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamoDb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: REPORT_KEY.partition, KeyType: 'HASH' },
        { AttributeName: REPORT_KEY.sort, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: REPORT_KEY.partition, AttributeType: 'S' },
        { AttributeName: REPORT_KEY.sort, AttributeType: 'S' },
      ],
    }),
  );
}

/** Writes items as the intake would (25 per BatchWriteItem, DynamoDB's limit). */
export async function putReportItems(dynamoDb: DynamoDBClient, tableName: string, items: (BeatItem | WitnessItem)[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    const batch = items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: toAttributeValues(item) } }));
    const answer = await dynamoDb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: batch } }));
    if (Object.keys(answer.UnprocessedItems ?? {}).length > 0) throw new Error('report log: unprocessed items');
  }
}

/** What the report log holds, as tests describe it: beats and witness reports by instance. */
export interface ReportLogContents {
  beats: (instanceId: string) => { at: Date; value: number }[];
  witnesses?: (subjectId: string) => { witnessId: string; at: Date }[];
}

/**
 * Answers a Query of the controller's shape (pk = :pk AND sk BETWEEN :from AND :to) the way
 * DynamoDB would: the matching items in sort-key order, in one page.
 */
export function answerReportQuery(input: { ExpressionAttributeValues?: Record<string, AttributeValue> }, log: ReportLogContents) {
  const values = input.ExpressionAttributeValues ?? {};
  const pk = values[':pk']?.S;
  const from = values[':from']?.S ?? '';
  const to = values[':to']?.S ?? '';
  if (!pk) throw Object.assign(new Error('Query condition missed key schema element: pk'), { name: 'ValidationException' });
  const items: (BeatItem | WitnessItem)[] = [
    ...log.beats(pk).map((b) => beatItem(pk, b.at.getTime(), b.value >= 1 ? 1 : 0, { groupName: 'nat', availabilityZone: 'unknown' })),
    ...(log.witnesses?.(pk) ?? []).map((w) => witnessItem(pk, w.witnessId, w.at.getTime())),
  ]
    .filter((item) => item.sk >= from && item.sk <= to)
    .sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0));
  return { Items: items.map(toAttributeValues), Count: items.length, ScannedCount: items.length };
}
