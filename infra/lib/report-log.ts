/**
 * The report log: one DynamoDB table per deployment holding what its NATs said (heartbeats and
 * witness items, common/report-store.ts). Only the intake writes it (PutItem); only the
 * controller reads it (Query); no NAT role may touch it.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { REPORT_KEY, REPORT_RETENTION_SECONDS, REPORT_TTL_ATTRIBUTE } from '../../common/report-store';

export function createReportLog(scope: Construct): dynamodb.Table {
  const table = new dynamodb.Table(scope, 'ReportLog', {
    partitionKey: { name: REPORT_KEY.partition, type: dynamodb.AttributeType.STRING },
    sortKey: { name: REPORT_KEY.sort, type: dynamodb.AttributeType.STRING },
    // Writes come with the heartbeats (a few per NAT-minute); on demand costs nothing when idle.
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: REPORT_TTL_ATTRIBUTE,
    // Soft state: every item expires within REPORT_RETENTION_SECONDS and the controller reads
    // only the last minutes; a new table fills with fresh beats within one heartbeat period. So
    // deleting the stack deletes it, and there is nothing for backups to restore.
    removalPolicy: RemovalPolicy.DESTROY,
    // Encrypted at rest with DynamoDB's own key: no KMS requests billed per beat.
    encryption: dynamodb.TableEncryption.DEFAULT,
  });
  Validations.of(table).acknowledge({
    id: 'AwsSolutions-DDB3',
    reason: `Point-in-time recovery would restore heartbeats that are stale by the time a restore ends: every item expires after ${REPORT_RETENTION_SECONDS / 60} minutes and the controller judges only the last few.`,
  });
  return table;
}
