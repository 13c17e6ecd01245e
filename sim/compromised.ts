/**
 * A compromised NAT: an attacker with root on one NAT instance, holding its instance-role
 * credentials and nothing else. Every few seconds it tries what the trust rule must survive:
 *  - bodies to the intake that name another instance (signed with its own credentials: the only
 *    ones it has), claiming the victim fails, or that a dead victim is fine;
 *  - PutMetricData with the victim's heartbeat dimensions (a forged 0 or 1);
 *  - PutItem into the report log as the victim (a forged beat).
 * What the world does with each attempt (accepted, refused, ignored) is recorded; the witness
 * lies or silence are the agent's prober's `behaviour` (sim/peers/prober.ts).
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DEFAULT_HEARTBEAT_NAMESPACE, HEARTBEAT_METRIC, instanceDimensions, zoneDimensions } from '../common/heartbeat';
import { beatItem } from '../common/report-store';
import type { SimIntake } from './intake';
import { connect, dynamoDbClient, type WorldApi } from './sdk-bridge';
import { natPrincipal } from './world/iam';
import type { SimInstance } from './world/ec2';

export type Forgery = 'bodies' | 'metrics' | 'log';

export interface ForgeryAttempt {
  at: number;
  by: string;
  victim: string;
  kind: Forgery;
  claim: 'failing' | 'ok';
  outcome: string;
}

export function startForging(
  world: WorldApi & { intake?: SimIntake },
  self: SimInstance,
  victims: () => SimInstance[],
  kinds: Forgery[],
  groupName: string,
  until: number,
  record: (attempt: ForgeryAttempt) => void,
): void {
  const { clock } = world.ctx;
  const me = natPrincipal(self.instanceId);
  // The agent loads no CloudWatch client; the attacker brings its own (the NAT role denies it).
  const cloudWatch = connect(new CloudWatchClient({ region: 'us-east-1', maxAttempts: 1 }), 'cloudwatch', world, me);
  const dynamo = dynamoDbClient(world, me, 1);
  const sender = world.intake?.senderFor(self.instanceId);
  const attempt = async (victim: SimInstance, kind: Forgery, claim: 'failing' | 'ok') => {
    const at = clock.now();
    const value = claim === 'ok' ? 1 : 0;
    try {
      if (kind === 'bodies') {
        if (!sender) return;
        const body = { status: claim, instanceId: victim.instanceId, detail: { instanceId: victim.instanceId }, failedProbes: claim === 'failing' ? ['forward-path'] : [] };
        await sender.send(body as never, AbortSignal.timeout(60_000));
      } else if (kind === 'metrics') {
        // Both series the agent publishes: the victim's own and its zone's (the alarms watch it).
        const datum = { MetricName: HEARTBEAT_METRIC, Value: value, Timestamp: clock.date(), StorageResolution: 1 };
        const MetricData = [instanceDimensions(groupName, victim.instanceId), zoneDimensions(groupName, victim.availabilityZone)].map((Dimensions) => ({ ...datum, Dimensions }));
        await cloudWatch.send(new PutMetricDataCommand({ Namespace: DEFAULT_HEARTBEAT_NAMESPACE, MetricData }));
      } else {
        const item = beatItem(victim.instanceId, at, value, { groupName, availabilityZone: victim.availabilityZone });
        await dynamo.send(
          new PutItemCommand({
            TableName: `${groupName}-reports`,
            Item: { pk: { S: item.pk }, sk: { S: item.sk }, status: { N: String(item.status) }, groupName: { S: item.groupName }, availabilityZone: { S: item.availabilityZone }, expiresAt: { N: String(item.expiresAt) } },
          }),
        );
      }
      record({ at, by: self.instanceId, victim: victim.instanceId, kind, claim, outcome: 'accepted' });
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      record({ at, by: self.instanceId, victim: victim.instanceId, kind, claim, outcome: `${e.name ?? 'error'}${e.$metadata?.httpStatusCode ? ` ${e.$metadata.httpStatusCode}` : ''}` });
    }
  };
  const every = clock.every(5_000, clock.now(), () => {
    if (clock.now() >= until || self.state !== 'running' || self.hung) return every.cancel();
    // Dead victims are claimed fine (keep their tables blackholed); live ones are claimed failing.
    for (const victim of victims()) {
      const claim = victim.hung || victim.state !== 'running' ? 'ok' : 'failing';
      for (const kind of kinds) void attempt(victim, kind, claim);
    }
  });
}
