/**
 * The event shapes natbeat's Lambdas accept, validated with zod. Samples follow the AWS event
 * reference (EventBridge events from aws.events, aws.cloudwatch and aws.autoscaling).
 */
import * as z from 'zod';

/**
 * EventBridge rule schedule:
 * {"source":"aws.events","detail-type":"Scheduled Event","resources":["arn:aws:events:…:rule/…"],"detail":{}}
 */
export const scheduledEvent = z.object({
  source: z.literal('aws.events'),
  'detail-type': z.literal('Scheduled Event'),
  id: z.string().optional(),
  time: z.string().optional(),
  resources: z.array(z.string()).optional(),
});

/**
 * CloudWatch alarm state change (the fast path):
 * {"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change",
 *  "detail":{"alarmName":"…","state":{"value":"ALARM","reason":"…"},"previousState":{"value":"OK"}}}
 */
export const alarmStateChangeEvent = z.object({
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  id: z.string().optional(),
  time: z.string().optional(),
  detail: z.object({
    alarmName: z.string(),
    state: z.object({ value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']) }).loose(),
  }).loose(),
});

/** A reconcile asked for by hand (`aws lambda invoke --payload '{"source":"natbeat","detail-type":"Reconcile Request"}'`). */
export const manualEvent = z.object({
  source: z.literal('natbeat'),
  'detail-type': z.literal('Reconcile Request'),
});

const instanceId = z.string().max(19).regex(/^i-[0-9a-f]+$/, { error: 'must be an instance id (i-…)' });

/**
 * A NAT's report of its own failed probe, as the intake forwards it once it has verified who sent
 * it: the instance id is the caller's IAM role session (SigV4-signed request to the intake's
 * Function URL), never the request body; group and AZ come from Auto Scaling. Only the intake's
 * role (and EventBridge's rules, which never emit this source) may invoke the reconcile function.
 * {"source":"natbeat.intake","detail-type":"Verified NAT Self-Report","time":"2026-…Z",
 *  "detail":{"instanceId":"i-…","groupName":"…","availabilityZone":"us-east-1a",
 *  "failedProbes":["forward-path"],"callerArn":"arn:aws:sts::…:assumed-role/…/i-…"}}
 */
export const SELF_REPORT_SOURCE = 'natbeat.intake';
export const SELF_REPORT_DETAIL_TYPE = 'Verified NAT Self-Report';
export const verifiedSelfReport = z.object({
  source: z.literal(SELF_REPORT_SOURCE),
  'detail-type': z.literal(SELF_REPORT_DETAIL_TYPE),
  time: z.iso.datetime(),
  detail: z
    .object({
      instanceId,
      groupName: z.string().min(1).max(255),
      availabilityZone: z.string().min(1).max(64),
      /** What the NAT says of itself. Only `failing` is forwarded today; absent means `failing`. */
      status: z.enum(['ok', 'failing']).optional(),
      failedProbes: z.array(z.string().max(64)).max(16).optional(),
      callerArn: z.string().max(2048),
    })
    .loose(),
});
export type VerifiedSelfReport = z.infer<typeof verifiedSelfReport>;

/** The event the intake sends once it has verified the caller (`detail` as it verified it). */
export function selfReportEvent(detail: VerifiedSelfReport['detail'], receivedAt: Date): VerifiedSelfReport {
  return { source: SELF_REPORT_SOURCE, 'detail-type': SELF_REPORT_DETAIL_TYPE, time: receivedAt.toISOString(), detail };
}

/**
 * A NAT's word about its peers, as the intake forwards it: the witness is the verified caller;
 * the peers it names are only a hint (reconcile believes them only with the named NAT's own
 * heartbeat overdue). {"source":"natbeat.intake","detail-type":"Verified Witness Report",
 *  "time":"…","detail":{"witnessId":"i-…","groupName":"…","availabilityZone":"…",
 *  "unreachablePeers":["i-…"],"callerArn":"arn:aws:sts::…:assumed-role/…/i-…"}}
 */
export const WITNESS_REPORT_DETAIL_TYPE = 'Verified Witness Report';
export const verifiedWitnessReport = z.object({
  source: z.literal(SELF_REPORT_SOURCE),
  'detail-type': z.literal(WITNESS_REPORT_DETAIL_TYPE),
  time: z.iso.datetime(),
  detail: z
    .object({
      witnessId: instanceId,
      groupName: z.string().min(1).max(255),
      availabilityZone: z.string().min(1).max(64),
      unreachablePeers: z.array(instanceId).min(1).max(16),
      callerArn: z.string().max(2048),
    })
    .loose(),
});
export type VerifiedWitnessReport = z.infer<typeof verifiedWitnessReport>;

/** The event the intake sends for a verified witness (`detail` as it verified it). */
export function witnessReportEvent(detail: VerifiedWitnessReport['detail'], receivedAt: Date): VerifiedWitnessReport {
  return { source: SELF_REPORT_SOURCE, 'detail-type': WITNESS_REPORT_DETAIL_TYPE, time: receivedAt.toISOString(), detail };
}

export const LAUNCH_DETAIL_TYPE = 'EC2 Instance-launch Lifecycle Action';
export const TERMINATE_DETAIL_TYPE = 'EC2 Instance-terminate Lifecycle Action';

/**
 * Auto Scaling lifecycle action (best effort delivery):
 * {"source":"aws.autoscaling","detail-type":"EC2 Instance-launch Lifecycle Action",
 *  "detail":{"LifecycleActionToken":"87654321-…","AutoScalingGroupName":"my-asg",
 *  "LifecycleHookName":"my-hook","EC2InstanceId":"i-1234567890abcdef0",
 *  "LifecycleTransition":"autoscaling:EC2_INSTANCE_LAUNCHING","NotificationMetadata":"…",
 *  "Origin":"EC2","Destination":"AutoScalingGroup"}}
 */
export const lifecycleActionEvent = z.object({
  source: z.literal('aws.autoscaling'),
  'detail-type': z.enum([LAUNCH_DETAIL_TYPE, TERMINATE_DETAIL_TYPE]),
  id: z.string().optional(),
  time: z.string().optional(),
  detail: z
    .object({
      LifecycleActionToken: z.string().optional(),
      AutoScalingGroupName: z.string().min(1),
      LifecycleHookName: z.string().min(1),
      EC2InstanceId: instanceId,
      LifecycleTransition: z.enum(['autoscaling:EC2_INSTANCE_LAUNCHING', 'autoscaling:EC2_INSTANCE_TERMINATING']),
    })
    .loose(),
});
export type LifecycleActionEvent = z.infer<typeof lifecycleActionEvent>;

/**
 * Everything the reconcile function runs on. Lifecycle actions come here too: one serialized
 * function is the only route writer, so two runs never write the same table from different
 * snapshots.
 */
export const reconcileTrigger = z.union([scheduledEvent, alarmStateChangeEvent, manualEvent, verifiedSelfReport, verifiedWitnessReport, lifecycleActionEvent]);
export type ReconcileTrigger = z.infer<typeof reconcileTrigger>;

/** The test notification Auto Scaling sends when a hook is created: acknowledged, ignored. */
export function isTestNotification(event: unknown): boolean {
  const detail = (event as { detail?: { Event?: unknown; LifecycleTransition?: unknown } } | null)?.detail;
  return detail?.Event === 'autoscaling:TEST_NOTIFICATION' || detail?.LifecycleTransition === 'autoscaling:TEST_NOTIFICATION';
}

/** A readable one-line reason a payload was rejected. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(event)'}: ${i.message}`)
    .join('; ');
}
