/**
 * The heartbeat contract between the agent (publisher) and the controller (reader).
 * Both sides import these names so they cannot drift apart.
 */

/**
 * Heartbeat namespace of an agent and a controller configured by hand (no construct): both
 * default to it, so they agree. A construct gives each deployment its own (heartbeatNamespace).
 */
export const DEFAULT_HEARTBEAT_NAMESPACE = 'NatBeat';

/** Prefix of every deployment's own heartbeat namespace. */
export const HEARTBEAT_NAMESPACE_PREFIX = 'NatBeat/Heartbeat/';

/**
 * The heartbeat namespace of one deployment, and the only namespace its NATs may write.
 * IAM can scope cloudwatch:PutMetricData by namespace but not by dimension, so a namespace per
 * deployment is what keeps one deployment's NATs from writing (or faking) another's heartbeats.
 * Deployment ids are letters, digits, `_ . -` (no `/`), so no two deployments share a namespace
 * and none equals the controller's (CONTROLLER_NAMESPACE).
 */
export function heartbeatNamespace(deploymentId: string): string {
  return `${HEARTBEAT_NAMESPACE_PREFIX}${deploymentId}`;
}

/** 1 = every probe passed; 0 = the agent is alive but a probe failed (explicit failure). */
export const HEARTBEAT_METRIC = 'RoutingHeartbeat';

export const HEARTBEAT_HEALTHY = 1;
export const HEARTBEAT_FAILING = 0;

export const DIMENSION_GROUP = 'AutoScalingGroupName';
export const DIMENSION_INSTANCE = 'InstanceId';
export const DIMENSION_ZONE = 'AvailabilityZone';

/**
 * High resolution (1 s) so the controller and 10 s alarms can see individual beats.
 * Only custom metrics may use it (API_MetricDatum).
 */
export const HEARTBEAT_STORAGE_RESOLUTION = 1;

/** Seconds between two heartbeats the agent sends to the intake when nothing changes: one intake request and one report-log write each (≈ $0.54 per NAT-month at 5 s; see docs/cost.md). Period + slack bounds how soon a silent NAT that a peer reports can lose its tables. */
export const DEFAULT_HEARTBEAT_PERIOD_SECONDS = 5;

/**
 * Heartbeat periods the controller accepts (NATBEAT_HEARTBEAT_PERIOD_SECONDS): whole seconds in
 * this range. The construct's heartbeatPeriod and `natbeat cost --interval` use the same bounds.
 */
export const HEARTBEAT_PERIOD_RANGE_SECONDS = { min: 1, max: 300 } as const;

/** Seconds between two probe cycles on the NAT (local, free); failures are published at once. */
export const DEFAULT_PROBE_INTERVAL_SECONDS = 2;

/** Dimensions of the per-instance series the controller reads. */
export function instanceDimensions(groupName: string, instanceId: string) {
  return [
    { Name: DIMENSION_GROUP, Value: groupName },
    { Name: DIMENSION_INSTANCE, Value: instanceId },
  ];
}

/** Dimensions of the per-zone aggregate the alarms watch: alarms scale with zones, not instances. */
export function zoneDimensions(groupName: string, availabilityZone: string) {
  return [
    { Name: DIMENSION_GROUP, Value: groupName },
    { Name: DIMENSION_ZONE, Value: availabilityZone },
  ];
}
