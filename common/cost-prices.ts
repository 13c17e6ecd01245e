/**
 * Unit prices of the cost model (us-east-1 list prices, USD) and what every resource type the CDK
 * construct creates costs. Sources: [AWS] AWS documentation or pricing pages, [3P] third-party
 * pricing guides quoting them.
 */
export const PRICES = {
  /** Custom metric per metric-month, first 10,000 metrics, prorated hourly [3P, CloudWatch pricing]. */
  customMetricMonth: 0.3,
  /** Standard-resolution (60 s) alarm, per alarm metric-month [3P, CloudWatch pricing]. */
  standardAlarmMetricMonth: 0.1,
  /** High-resolution (10/30 s) alarm, per alarm metric-month [3P, CloudWatch pricing]. */
  highResolutionAlarmMetricMonth: 0.3,
  /** Dashboard per month, beyond an account's first 3 (of up to 50 metrics each) [3P, CloudWatch pricing]. */
  dashboardMonth: 3,
  /** CloudWatch Logs ingestion per GB (EMF and controller logs) [3P, CloudWatch pricing]. */
  logsIngestionPerGb: 0.5,
  /** CloudWatch Logs storage per GB-month (compressed) [3P, CloudWatch pricing]. */
  logsStoragePerGbMonth: 0.03,
  /** Lambda arm64 duration per GB-second, first 7.5 billion GB-s [3P, cloudchipr.com Lambda pricing]. */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda requests per million; a Function URL request is billed as one [3P, Lambda pricing guides]. */
  lambdaPerMillionRequests: 0.2,
  /**
   * DynamoDB on-demand write request units per million (Standard table class; one unit writes an
   * item of up to 1 KB), since the November 2024 price cut [AWS DynamoDB on-demand pricing page for
   * the unit; 3P airbyte.com DynamoDB pricing guide for the price].
   */
  dynamoDbPerMillionWriteUnits: 0.625,
  /**
   * DynamoDB on-demand read request units per million: a strongly consistent read of up to 4 KB
   * is one unit (a Query sums the items it returns, rounded up to 4 KB) [AWS DynamoDB on-demand
   * pricing page for the unit; 3P airbyte.com for the price].
   */
  dynamoDbPerMillionReadUnits: 0.125,
  /** DynamoDB Standard table storage per GB-month beyond the first 25 GB [3P, DynamoDB pricing guides]. */
  dynamoDbStorageGbMonth: 0.25,
  /** KMS customer managed key per month [AWS KMS pricing]. */
  kmsKeyMonth: 1,
  /**
   * KMS automatic rotation: the first and second rotation each add $1 a month; later rotations
   * are free (pricing since May 2024) [AWS KMS pricing; 3P cloudburn.io].
   */
  kmsRotationMonth: 1,
  /** KMS symmetric requests per 10,000 (beyond the account's 20,000 free) [AWS KMS pricing]. */
  kmsPer10000Requests: 0.03,
  /** SNS standard topic publishes per million (beyond the account's first million) [3P, SNS pricing]. */
  snsPerMillionPublishes: 0.5,
  /** SNS email notifications per 100,000 (beyond the account's first 1,000) [3P, SNS pricing]. */
  snsEmailPer100000: 2,
  /**
   * Data transfer within a Region, per GB, as EC2 bills traffic between public addresses of one
   * Region (each direction); Lambda bills no data transfer within its Region [3P, EC2 pricing].
   */
  regionalDataTransferPerGb: 0.01,
  /** NAT Gateway per hour [3P]. */
  natGatewayHour: 0.045,
  /** NAT Gateway data processed per GB [3P]. */
  natGatewayPerGb: 0.045,
  /** t4g.nano on-demand per hour [3P, fck-nat docs]. */
  t4gNanoHour: 0.0042,
  /** Public IPv4 address per hour, in use or idle [3P]. */
  publicIpv4Hour: 0.005,
  /** gp3 EBS storage per GB-month [3P; UNCONFIRMED]. */
  gp3GbMonth: 0.08,
} as const;

/**
 * Resource types the construct creates that cost nothing by themselves, and why. Every other
 * resource type of the synthesized construct must appear in some cost line's `resourceTypes`
 * (test/common/cost-resources.test.ts checks it against the template).
 */
export const FREE_RESOURCE_TYPES: Record<string, string> = {
  'AWS::IAM::Role': 'IAM is free',
  'AWS::IAM::Policy': 'IAM is free',
  'AWS::IAM::InstanceProfile': 'IAM is free',
  'AWS::EC2::SecurityGroup': 'security groups are free',
  'AWS::EC2::SecurityGroupIngress': 'security group rules are free (the NATs\' own VXLAN rule for connection handover)',
  'AWS::EC2::LaunchTemplate': 'launch templates are free; the instances are billed (NAT instances)',
  'AWS::Lambda::Permission': 'resource policies are free',
  'AWS::Lambda::EventInvokeConfig': 'async invoke settings are free',
  'AWS::SNS::TopicPolicy': 'topic policies are free',
  'AWS::SQS::Queue': 'the controller dead-letter queue is billed per request ($0.40 per 1M) and gets one only for a trigger no run handled; its CloudWatch metrics are free',
  'AWS::SQS::QueuePolicy': 'queue policies are free',
};
