/**
 * DynamoDB: the report log's table (common/report-store.ts), answering the real
 * @aws-sdk/client-dynamodb: PutItem, and Query on the partition key with an optional sort-key
 * condition (`=`, `<`, `<=`, `>`, `>=`, `BETWEEN`, `begins_with`), forwards or backwards, with
 * Limit, ExclusiveStartKey/LastEvaluatedKey and the 1 MB page [AWS Query]. A strongly consistent
 * read (ConsistentRead) sees every write that has completed [AWS read consistency]; an
 * eventually consistent one may miss a write younger than `dynamoEventualLagMs` (GUESS: AWS says
 * copies are "usually" consistent "within a second"). Items are kept as AttributeValue maps,
 * exactly as the SDK sends them. No throttling: on-demand tables take 1,000 writes and 3,000
 * strongly consistent reads per second per partition [AWS], hundreds of times what a fleet sends.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { draw } from '../random';
import type { Input, WorldContext } from './context';
import { awsError } from './errors';

type Item = Record<string, AttributeValue>;

interface Stored {
  item: Item;
  /** Visible to eventually consistent reads from this time on. */
  settledAt: number;
}

interface Table {
  name: string;
  partitionKey: string;
  sortKey: string;
  /** pk → items sorted by sort key. */
  partitions: Map<string, Stored[]>;
}

/** A Query page holds at most 1 MB of items [AWS Query]. */
const PAGE_BYTES = 1024 * 1024;
/** An item is at most 400 KB [AWS service quotas]. */
const ITEM_BYTES = 400 * 1024;

export class DynamoWorld {
  private readonly tables = new Map<string, Table>();
  /** Requests served, for the cost model's sanity check. */
  readonly usage = { putItem: 0, query: 0, itemsRead: 0 };

  constructor(private readonly ctx: WorldContext) {}

  createTable(name: string, partitionKey: string, sortKey: string): void {
    this.tables.set(name, { name, partitionKey, sortKey, partitions: new Map() });
  }

  /** Every item of a partition as stored (tests, the timeline). */
  items(tableName: string, pk: string): Item[] {
    return (this.tables.get(tableName)?.partitions.get(pk) ?? []).map((s) => s.item);
  }

  handle(command: string, input: Input): unknown {
    switch (command) {
      case 'PutItem':
        return this.putItem(input);
      case 'Query':
        return this.query(input);
      default:
        throw awsError('dynamodb', 'UnknownOperationException', `The action ${command} is not modelled by the simulated DynamoDB.`);
    }
  }

  private table(name: unknown): Table {
    const table = this.tables.get(String(name));
    if (!table) throw awsError('dynamodb', 'ResourceNotFoundException', 'Requested resource not found');
    return table;
  }

  private putItem(input: Input) {
    const table = this.table(input.TableName);
    if (input.ConditionExpression !== undefined) throw validation('ConditionExpression is not modelled by the simulated DynamoDB');
    const item = (input.Item ?? {}) as Item;
    const pk = item[table.partitionKey]?.S;
    const sk = item[table.sortKey]?.S;
    if (pk === undefined || sk === undefined) {
      throw validation(`One or more parameter values were invalid: Missing the key ${pk === undefined ? table.partitionKey : table.sortKey} in the item`);
    }
    if (pk === '' || sk === '') throw validation('One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value.');
    if (JSON.stringify(item).length > ITEM_BYTES) throw validation('Item size has exceeded the maximum allowed size');
    const partition = table.partitions.get(pk) ?? [];
    table.partitions.set(pk, partition);
    const stored = { item: structuredClone(item), settledAt: this.ctx.clock.now() + draw(this.ctx.rng, this.ctx.params.dynamoEventualLagMs) };
    const at = partition.findIndex((s) => s.item[table.sortKey]!.S! >= sk);
    if (at === -1) partition.push(stored);
    else if (partition[at]!.item[table.sortKey]!.S === sk) partition[at] = stored; // PutItem replaces
    else partition.splice(at, 0, stored);
    this.usage.putItem++;
    return {};
  }

  private query(input: Input) {
    const table = this.table(input.TableName);
    if (input.FilterExpression !== undefined) throw validation('FilterExpression is not modelled by the simulated DynamoDB');
    const condition = parseKeyCondition(String(input.KeyConditionExpression ?? ''), input.ExpressionAttributeNames ?? {}, input.ExpressionAttributeValues ?? {});
    if (condition.partitionKey !== table.partitionKey) throw validation(`Query condition missed key schema element: ${table.partitionKey}`);
    if (condition.sortKey !== undefined && condition.sortKey !== table.sortKey) throw validation(`Query condition missed key schema element: ${table.sortKey}`);
    const now = this.ctx.clock.now();
    const consistent = input.ConsistentRead === true;
    let matches = (table.partitions.get(condition.pk) ?? []).filter((s) => (consistent || s.settledAt <= now) && condition.matches(s.item[table.sortKey]!.S!)).map((s) => s.item);
    if (input.ScanIndexForward === false) matches = matches.reverse();
    const start = input.ExclusiveStartKey?.[table.sortKey]?.S as string | undefined;
    if (start !== undefined) {
      const after = matches.findIndex((item) => (input.ScanIndexForward === false ? item[table.sortKey]!.S! < start : item[table.sortKey]!.S! > start));
      matches = after === -1 ? [] : matches.slice(after);
    }
    const limit = input.Limit as number | undefined;
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1)) throw validation('1 validation error detected: Value at \'limit\' failed to satisfy constraint: Member must have value greater than or equal to 1');
    const page: Item[] = [];
    let bytes = 0;
    for (const item of matches) {
      if (limit !== undefined && page.length >= limit) break;
      bytes += JSON.stringify(item).length;
      if (bytes > PAGE_BYTES && page.length > 0) break;
      page.push(item);
    }
    const more = page.length < matches.length;
    const last = page.at(-1);
    this.usage.query++;
    this.usage.itemsRead += page.length;
    const projected = project(page, input.ProjectionExpression as string | undefined, input.ExpressionAttributeNames ?? {});
    return {
      ...(input.Select === 'COUNT' ? {} : { Items: structuredClone(projected) }),
      Count: page.length,
      ScannedCount: page.length,
      ...(more && last ? { LastEvaluatedKey: { [table.partitionKey]: last[table.partitionKey]!, [table.sortKey]: last[table.sortKey]! } } : {}),
    };
  }
}

function validation(message: string): Error {
  return awsError('dynamodb', 'ValidationException', message);
}

interface KeyCondition {
  partitionKey: string;
  pk: string;
  sortKey?: string;
  matches(sk: string): boolean;
}

const NAME = '(#?[A-Za-z_][\\w]*)';
const VALUE = '(:[\\w]+)';
const PARTITION = new RegExp(`^\\s*${NAME}\\s*=\\s*${VALUE}\\s*$`);
const BETWEEN = new RegExp(`^\\s*${NAME}\\s+BETWEEN\\s+${VALUE}\\s+AND\\s+${VALUE}\\s*$`, 'i');
const COMPARE = new RegExp(`^\\s*${NAME}\\s*(<=|>=|<|>|=)\\s*${VALUE}\\s*$`);
const BEGINS = new RegExp(`^\\s*begins_with\\s*\\(\\s*${NAME}\\s*,\\s*${VALUE}\\s*\\)\\s*$`, 'i');

/** `pk = :v [AND <sort-key condition>]`, with #names and :values resolved. */
export function parseKeyCondition(expression: string, names: Record<string, string>, values: Record<string, AttributeValue>): KeyCondition {
  const name = (n: string) => {
    if (!n.startsWith('#')) return n;
    const resolved = names[n];
    if (resolved === undefined) throw validation(`Value provided in ExpressionAttributeNames unused in expressions: keys: {${n}}`);
    return resolved;
  };
  const value = (v: string) => {
    const s = values[v]?.S;
    if (s === undefined) throw validation(`An expression attribute value used in expression is not defined (or not a string); attribute value: ${v}`);
    return s;
  };
  // The sort-key part may itself contain AND (BETWEEN … AND …): split at the first AND only.
  const m = /^(.*?)\s+AND\s+(.*)$/i.exec(expression);
  const [head, tail] = m ? [m[1]!, m[2]!] : [expression, undefined];
  const p = PARTITION.exec(head);
  if (!p) throw validation(`Invalid KeyConditionExpression (the simulated DynamoDB reads "pk = :v [AND sort-key condition]"): ${expression}`);
  const partitionKey = name(p[1]!);
  const pk = value(p[2]!);
  if (tail === undefined) return { partitionKey, pk, matches: () => true };
  let b = BETWEEN.exec(tail);
  if (b) {
    const [low, high] = [value(b[2]!), value(b[3]!)];
    if (low > high) throw validation('Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound');
    return { partitionKey, pk, sortKey: name(b[1]!), matches: (sk) => sk >= low && sk <= high };
  }
  b = BEGINS.exec(tail);
  if (b) {
    const prefix = value(b[2]!);
    return { partitionKey, pk, sortKey: name(b[1]!), matches: (sk) => sk.startsWith(prefix) };
  }
  const c = COMPARE.exec(tail);
  if (c) {
    const v = value(c[3]!);
    const op = c[2]!;
    const matches = (sk: string) => (op === '=' ? sk === v : op === '<' ? sk < v : op === '<=' ? sk <= v : op === '>' ? sk > v : sk >= v);
    return { partitionKey, pk, sortKey: name(c[1]!), matches };
  }
  throw validation(`Invalid KeyConditionExpression (sort-key condition not understood): ${tail}`);
}

function project(items: Item[], expression: string | undefined, names: Record<string, string>): Item[] {
  if (!expression) return items;
  const wanted = expression.split(',').map((n) => n.trim()).map((n) => (n.startsWith('#') ? (names[n] ?? n) : n));
  return items.map((item) => Object.fromEntries(wanted.filter((n) => n in item).map((n) => [n, item[n]!])));
}
