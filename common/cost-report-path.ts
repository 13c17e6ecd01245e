/**
 * The heartbeats' cost lines: every beat is one signed request to the intake (a Lambda Function
 * URL: one invocation), which appends one item to the report log (a DynamoDB table, on demand,
 * TTL); every reconcile run Queries each NAT's recent items. All of it grows with the NATs, so
 * every line is per-AZ.
 */
import type { CostInputs, CostLine } from './cost-model';
import { PRICES } from './cost-prices';

type AddLine = (line: Omit<CostLine, 'monthlyUsd' | 'category'> & { category: 'controller'; monthlyUsd?: number }) => void;

/** A strongly consistent read unit covers 4 KB; a Query is billed on the sum of what it returns. */
const READ_UNIT_BYTES = 4096;
/** A standard write unit covers an item of up to 1 KB. */
const WRITE_UNIT_BYTES = 1024;
/** DynamoDB bills each item's storage with 100 bytes of overhead (indexing). */
const ITEM_OVERHEAD_BYTES = 100;
/** Report log items live this long before their TTL (common/report-store.ts REPORT_RETENTION_SECONDS). */
const RETENTION_HOURS = 1;

const DYNAMODB_TABLE_TYPES = ['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable'];

/** Heartbeats a NAT sends in the month: one per period. */
export function beatsPerNatMonth(i: Required<CostInputs>): number {
  return (i.hoursPerMonth * 3600) / i.heartbeatPeriodSeconds;
}

/** Items one Query for a NAT's beats returns: the lookback the controller reads (silence window + failback beats). */
export function beatsPerQuery(i: Required<CostInputs>): number {
  const lookbackSeconds = i.silenceSeconds + (i.failbackHeartbeats + 1) * i.heartbeatPeriodSeconds;
  return Math.ceil(lookbackSeconds / i.heartbeatPeriodSeconds);
}

export function reportPathLines(i: Required<CostInputs>, reconcileRuns: number, add: AddLine): void {
  const nats = i.azs * i.natsPerAz;
  const perAz = { category: 'controller' as const, scope: 'per-AZ' as const };
  const beats = nats * beatsPerNatMonth(i);

  add({
    ...perAz,
    resourceTypes: ['AWS::Lambda::Url'],
    item: `Intake requests (1 signed POST per NAT every ${i.heartbeatPeriodSeconds} s)`,
    quantity: beats,
    unit: 'requests',
    unitPrice: PRICES.lambdaPerMillionRequests / 1e6,
    source: 'Lambda pricing [3P]: $0.20 per 1M requests; a Function URL adds no charge of its own',
  });
  add({
    ...perAz,
    item: `Intake duration (arm64, ${i.intakeMemoryMb} MB × ${i.intakeAvgMs} ms per beat)`,
    quantity: beats * (i.intakeMemoryMb / 1024) * (i.intakeAvgMs / 1000),
    unit: 'GB-seconds',
    unitPrice: PRICES.lambdaArmGbSecond,
    source: 'Lambda pricing [3P]: arm64 $0.0000133334 per GB-s',
  });

  // Witness items: while a replaced (or dead) NAT is unreachable, each of its peers names it in
  // every body, one item per (witness, peer) and beat.
  const witnesses = Math.max(0, nats - 1);
  const witnessItems = nats * i.replacementsPerNatMonth * witnesses * (i.unreachableSecondsPerReplacement / i.heartbeatPeriodSeconds);
  const writeUnitsPerItem = Math.ceil(i.reportItemBytes / WRITE_UNIT_BYTES);
  add({
    ...perAz,
    resourceTypes: DYNAMODB_TABLE_TYPES,
    item: `Report log writes (1 item per beat, ${writeUnitsPerItem} write unit each; witness items)`,
    quantity: (beats + witnessItems) * writeUnitsPerItem,
    unit: 'write request units',
    unitPrice: PRICES.dynamoDbPerMillionWriteUnits / 1e6,
    source: 'DynamoDB on-demand pricing [AWS unit; 3P price]: $0.625 per 1M write request units (1 KB each)',
  });

  // Each Query returns at least one unit's worth; the beats of a lookback are a few hundred bytes each.
  const unitsPerBeatQuery = Math.max(1, Math.ceil((beatsPerQuery(i) * i.reportItemBytes) / READ_UNIT_BYTES));
  const otherQueries = Math.max(0, i.reportQueriesPerNatPerRun - 1);
  add({
    ...perAz,
    resourceTypes: DYNAMODB_TABLE_TYPES,
    item: `Report log Queries (${i.reportQueriesPerNatPerRun} per NAT per reconcile run, strongly consistent)`,
    quantity: reconcileRuns * nats * (unitsPerBeatQuery + otherQueries),
    unit: 'read request units',
    unitPrice: PRICES.dynamoDbPerMillionReadUnits / 1e6,
    source: 'DynamoDB on-demand pricing [AWS unit; 3P price]: $0.125 per 1M read request units (4 KB strongly consistent)',
  });

  // TTL deletes are free, but AWS deletes expired items only "within a few days": bill the lag.
  const storedBeats = nats * ((RETENTION_HOURS + i.ttlDeletionLagHours) * 3600) / i.heartbeatPeriodSeconds;
  add({
    ...perAz,
    resourceTypes: DYNAMODB_TABLE_TYPES,
    item: `Report log storage (TTL ${RETENTION_HOURS} h, deleted up to ${i.ttlDeletionLagHours} h later)`,
    quantity: (storedBeats * (i.reportItemBytes + ITEM_OVERHEAD_BYTES)) / 1e9,
    unit: 'GB-months',
    unitPrice: PRICES.dynamoDbStorageGbMonth,
    source: 'DynamoDB pricing [3P]: $0.25 per GB-month (first 25 GB free, ignored); TTL deletes cost no write units [AWS]',
  });

  // The NAT's side of each beat leaves through its public address (the Function URL is a public
  // endpoint of the Region); billed here as regional transfer, which is the most it can be.
  add({
    ...perAz,
    item: `Heartbeat traffic, NAT to intake and back (${i.bytesPerBeat} B per beat, within the Region)`,
    quantity: (beats * i.bytesPerBeat) / 1e9,
    unit: 'GB',
    unitPrice: PRICES.regionalDataTransferPerGb,
    source: 'EC2 pricing [3P]: $0.01 per GB within a Region (an upper bound: Lambda bills none within its Region)',
  });

  const intakeLogGb = (beats * i.intakeLogBytesPerBeat) / 1e9;
  add({
    ...perAz,
    resourceTypes: ['AWS::Logs::LogGroup'],
    item: `Intake logs (platform lines at WARN, accepted beats at DEBUG: ${i.intakeLogBytesPerBeat} bytes per beat)`,
    quantity: intakeLogGb,
    unit: 'GB',
    unitPrice: PRICES.logsIngestionPerGb + PRICES.logsStoragePerGbMonth * (i.logRetentionDays / 30),
    source: 'CloudWatch Logs pricing [3P]: $0.50 per GB ingested, $0.03 per GB-month stored',
  });
}
