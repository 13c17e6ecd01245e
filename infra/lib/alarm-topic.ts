/**
 * The SNS topic natbeat's alarms notify, when the user brings none: a topic policy that lets only
 * this deployment's alarms publish, and, with `encryptTopic`, a KMS key CloudWatch may use for
 * those alarms only.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { pagingAlarmNames } from './monitoring';

export function createAlarmTopic(scope: Construct, groupName: string, encrypt: boolean): { topic: sns.Topic; key?: kms.Key } {
  const stack = Stack.of(scope);
  // Exactly this deployment's paging alarms: CloudWatch acts for them and for no other alarm
  // (the confused-deputy guard, on the key as on the topic).
  const ownAlarms = {
    ArnEquals: {
      'aws:SourceArn': pagingAlarmNames(groupName).map((name) =>
        stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      ),
    },
    StringEquals: { 'aws:SourceAccount': stack.account },
  };
  const key = encrypt ? alarmTopicKey(scope, ownAlarms) : undefined;
  const topic = new sns.Topic(scope, 'AlarmTopic', {
    displayName: `natbeat alarms (${groupName})`,
    masterKey: key,
    enforceSSL: true,
  });
  if (!key) {
    Validations.of(topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'encryptTopic is off (the default): the topic carries alarm state changes (alarm name, description, metric values), nothing secret, and an e-mail subscription delivers them unencrypted anyway. CloudWatch can publish to an encrypted topic only through a customer managed key ($1 a month plus $1 for each of its first two rotations); set encryptTopic, or bring your own alarmTopic, where a policy requires encryption at rest.',
    });
  }
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowOwnAlarmsToPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: ownAlarms,
    }),
  );
  return { topic, key };
}

function alarmTopicKey(scope: Construct, ownAlarms: Record<string, unknown>): kms.Key {
  const key = new kms.Key(scope, 'AlarmTopicKey', {
    description: 'natbeat alarm topic encryption',
    enableKeyRotation: true,
    // Holds no data at rest: it only protects notifications in flight through SNS.
    removalPolicy: RemovalPolicy.DESTROY,
    pendingWindow: Duration.days(7),
  });
  // CloudWatch must use the key to publish to the encrypted topic (SNS key management,
  // "compatibility between event sources from AWS services and encrypted topics"); the AWS
  // managed aws/sns key cannot allow it, its policy is not editable.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToUseKey',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      // In a key policy "*" is this key.
      resources: ['*'],
      conditions: ownAlarms,
    }),
  );
  return key;
}
