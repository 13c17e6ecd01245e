/**
 * Appends to the report log (common/report-store.ts): one PutItem per item, all at once. Only
 * PutItem: the intake's role may do nothing else to the table, so it can add words but never
 * read, change or delete what anyone said.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beatAttributes, witnessAttributes } from '../../common/report-attributes';
import type { BeatItem, WitnessItem } from '../../common/report-store';
import type { ClientSource } from './clients';

export class ReportLogWriter {
  constructor(
    private readonly dynamoDb: ClientSource<DynamoDBClient>,
    private readonly tableName: string,
  ) {}

  /** Writes every item; rejects with the first failure once all have settled. */
  async append(beat: BeatItem, witnesses: readonly WitnessItem[]): Promise<void> {
    const { PutItemCommand } = await import('@aws-sdk/client-dynamodb');
    const client = await this.dynamoDb();
    const items = [beatAttributes(beat), ...witnesses.map(witnessAttributes)];
    const results = await Promise.allSettled(items.map((Item) => client.send(new PutItemCommand({ TableName: this.tableName, Item }))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
