import * as z from 'zod';
import { CONTROLLER_NAMESPACE } from '../../common/controller-metrics';
import { DEFAULT_HEARTBEAT_NAMESPACE, DEFAULT_HEARTBEAT_PERIOD_SECONDS, HEARTBEAT_PERIOD_RANGE_SECONDS } from '../../common/heartbeat';
import { ConfigError } from './errors';

/** Default NATBEAT_HEARTBEAT_SLACK_SECONDS: agent jitter + the intake + the write, pessimistically. */
export const DEFAULT_HEARTBEAT_SLACK_SECONDS = 3;
/** NATBEAT_HEARTBEAT_SLACK_SECONDS' allowed range; the construct's heartbeatSlack uses it too. */
export const HEARTBEAT_SLACK_RANGE_SECONDS = { min: 1, max: 60 } as const;

/**
 * Controller settings. Every setting has an environment variable (the name in `ENV`), a default
 * and an allowed range; the settings table in docs/settings.md mirrors this file.
 */
export interface ControllerConfig {
  /** Groups carrying this tag key (value `true`) are managed, unless `groupNames` is set. */
  groupTagKey: string;
  /** Explicit list of managed groups; when non-empty the tag is not used. */
  groupNames: string[];
  /** Private route tables are found by this tag (`key=value`). */
  routeTableTag: { key: string; value: string };
  namespace: string;
  /**
   * The deployment's report log (a DynamoDB table only the intake writes): every NAT's heartbeats
   * and its peers' witness reports. Required: without it no NAT can be judged.
   */
  reportTable: string;
  /** Seconds between healthy heartbeats the agents publish. */
  heartbeatPeriodSeconds: number;
  /**
   * A beat is overdue once a heartbeat period and this many seconds (agent jitter, the intake, the
   * write) have passed without one; an overdue NAT that a healthy peer cannot reach loses its tables.
   */
  heartbeatSlackSeconds: number;
  /** A NAT with no heartbeat for this long is silent. */
  silenceSeconds: number;
  /** No NAT is marked during this many seconds after launch (or the group's own grace, if longer). */
  graceSeconds: number;
  /** Consecutive healthy heartbeats an own-AZ NAT needs before its routes fail back to it. */
  failbackHeartbeats: number;
  /** When more than this share of the fleet is silent or failing at once, mark nothing. */
  maxUnhealthyShare: number;
  launchHookName: string;
  terminateHookName: string;
  /** A launching NAT that has not proved it routes within this many seconds is abandoned. */
  launchProofTimeoutSeconds: number;
  /** Pinned Elastic IPs from configuration: `group/az` → allocation id (`*` as group = any). */
  elasticIps: Record<string, string>;
  /** Tag key prefix on a group for pinned Elastic IPs: `natbeat:eip:<az>` = `eipalloc-…`. */
  elasticIpTagPrefix: string;
  dryRun: boolean;
  /**
   * Connection handover on planned moves: how long the NAT taking the tables hands mid-stream flows
   * back to the one they leave (and a terminating NAT waits for them). 0 = off.
   */
  handoverDrainSeconds: number;
  /** Seconds between tagging the NAT taking the tables and moving them, for its agent to see the tag. */
  handoverLeadSeconds: number;
  /** SDK attempts per call (throttling is retried with backoff). */
  maxAttempts: number;
}

export const ENV = {
  groupTagKey: 'NATBEAT_GROUP_TAG_KEY',
  groupNames: 'NATBEAT_GROUP_NAMES',
  routeTableTag: 'NATBEAT_ROUTE_TABLE_TAG',
  namespace: 'NATBEAT_NAMESPACE',
  reportTable: 'NATBEAT_REPORT_TABLE',
  heartbeatPeriodSeconds: 'NATBEAT_HEARTBEAT_PERIOD_SECONDS',
  heartbeatSlackSeconds: 'NATBEAT_HEARTBEAT_SLACK_SECONDS',
  silenceSeconds: 'NATBEAT_SILENCE_SECONDS',
  graceSeconds: 'NATBEAT_GRACE_SECONDS',
  failbackHeartbeats: 'NATBEAT_FAILBACK_HEARTBEATS',
  maxUnhealthyShare: 'NATBEAT_MAX_UNHEALTHY_SHARE',
  launchHookName: 'NATBEAT_LAUNCH_HOOK_NAME',
  terminateHookName: 'NATBEAT_TERMINATE_HOOK_NAME',
  launchProofTimeoutSeconds: 'NATBEAT_LAUNCH_PROOF_TIMEOUT_SECONDS',
  elasticIps: 'NATBEAT_ELASTIC_IPS',
  elasticIpTagPrefix: 'NATBEAT_ELASTIC_IP_TAG_PREFIX',
  dryRun: 'NATBEAT_DRY_RUN',
  handoverDrainSeconds: 'NATBEAT_HANDOVER_DRAIN_SECONDS',
  handoverLeadSeconds: 'NATBEAT_HANDOVER_LEAD_SECONDS',
  maxAttempts: 'NATBEAT_MAX_ATTEMPTS',
} as const satisfies Record<keyof ControllerConfig, string>;

export const DEFAULT_CONFIG: ControllerConfig = {
  groupTagKey: 'natbeat:managed',
  groupNames: [],
  routeTableTag: { key: 'network', value: 'private' },
  namespace: DEFAULT_HEARTBEAT_NAMESPACE,
  // No default: each deployment has its own table (the construct sets it); loadConfig requires it.
  reportTable: '',
  heartbeatPeriodSeconds: DEFAULT_HEARTBEAT_PERIOD_SECONDS,
  heartbeatSlackSeconds: DEFAULT_HEARTBEAT_SLACK_SECONDS,
  silenceSeconds: 25,
  graceSeconds: 300,
  failbackHeartbeats: 3,
  maxUnhealthyShare: 0.5,
  launchHookName: 'natbeat-launch',
  terminateHookName: 'natbeat-terminate',
  launchProofTimeoutSeconds: 600,
  elasticIps: {},
  elasticIpTagPrefix: 'natbeat:eip:',
  dryRun: false,
  // Off unless configured: the agents must support it (the CDK construct turns it on).
  handoverDrainSeconds: 0,
  handoverLeadSeconds: 5,
  maxAttempts: 5,
};

const intIn = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be a whole number from ${min} to ${max}` })
    .int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` })
    .max(max, { error: `must be a whole number from ${min} to ${max}` });

const name = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(255, { error: 'must be at most 255 characters' });

// DynamoDB table names: 3–255 of letters, digits, `_ . -` (DynamoDB naming rules).
const tableName = z
  .string()
  .trim()
  .min(1, { error: "must be set to the name of the deployment's report table (the DynamoDB table its intake writes; the construct sets it for the controller)" })
  .regex(/^[A-Za-z0-9_.-]{3,255}$/, { error: 'must be a DynamoDB table name: 3 to 255 letters, digits, _ . or -' });

const commaList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  );

const keyValue = z
  .string()
  .regex(/^[^=]+=.+$/, { error: 'must be key=value, e.g. network=private' })
  .transform((s) => {
    const at = s.indexOf('=');
    return { key: s.slice(0, at).trim(), value: s.slice(at + 1).trim() };
  });

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no', ''].includes(s), {
    error: 'must be true or false',
  })
  .transform((s) => ['true', '1', 'yes'].includes(s));

// `group/az=eipalloc-…` entries, comma separated; a bare `az=…` applies to every group.
const elasticIps = z
  .string()
  .transform((s, ctx) => {
    const out: Record<string, string> = {};
    for (const entry of s.split(',').map((x) => x.trim()).filter(Boolean)) {
      const m = /^(?:([^/=]+)\/)?([a-z0-9-]+)=(eipalloc-[0-9a-f]+)$/.exec(entry);
      if (!m) {
        ctx.addIssue({
          code: 'custom',
          message: `entry "${entry}" must look like [group/]us-east-1a=eipalloc-0123abcd`,
        });
        return z.NEVER;
      }
      const key = `${m[1] ?? '*'}/${m[2]}`;
      const twice = Object.entries(out).find(([other, allocation]) => allocation === m[3] && other !== key);
      if (twice) {
        // One address serves one NAT: pinned to two places it would move between them on every run.
        ctx.addIssue({
          code: 'custom',
          message: `${m[3]} is pinned to both ${twice[0]} and ${key}: pin each address to one zone of one group`,
        });
        return z.NEVER;
      }
      out[key] = m[3]!;
    }
    return out;
  });

const schema = z
  .object({
    groupTagKey: name,
    groupNames: commaList,
    routeTableTag: keyValue,
    namespace: name,
    reportTable: tableName,
    heartbeatPeriodSeconds: intIn(HEARTBEAT_PERIOD_RANGE_SECONDS.min, HEARTBEAT_PERIOD_RANGE_SECONDS.max),
    heartbeatSlackSeconds: intIn(HEARTBEAT_SLACK_RANGE_SECONDS.min, HEARTBEAT_SLACK_RANGE_SECONDS.max),
    silenceSeconds: intIn(5, 3600),
    graceSeconds: intIn(0, 7200),
    failbackHeartbeats: intIn(1, 100),
    maxUnhealthyShare: z.coerce
      .number({ error: 'must be a number from 0 to 1' })
      .min(0, { error: 'must be a number from 0 to 1' })
      .max(1, { error: 'must be a number from 0 to 1' }),
    launchHookName: name,
    terminateHookName: name,
    launchProofTimeoutSeconds: intIn(30, 7200),
    elasticIps,
    elasticIpTagPrefix: name,
    dryRun: bool,
    handoverDrainSeconds: intIn(0, 3600),
    handoverLeadSeconds: intIn(0, 60),
    maxAttempts: intIn(1, 10),
  })
  .superRefine((c, ctx) => {
    if (c.namespace === CONTROLLER_NAMESPACE) {
      ctx.addIssue({
        code: 'custom',
        path: ['namespace'],
        message: `must not be the controller's own namespace ${CONTROLLER_NAMESPACE}: the NATs may write the heartbeat namespace, and must not be able to write the controller's metrics`,
      });
    }
    const anyGroupPins = Object.keys(c.elasticIps).filter((key) => key.startsWith('*/'));
    if (anyGroupPins.length > 0 && c.groupNames.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['elasticIps'],
        message: `${anyGroupPins.map((k) => k.slice(2)).join(', ')} pinned without a group would pin one address to that zone of each of the ${c.groupNames.length} groups in ${ENV.groupNames}: write group/zone=eipalloc-…`,
      });
    }
    if (c.silenceSeconds <= c.heartbeatPeriodSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['silenceSeconds'],
        message: `must be greater than ${ENV.heartbeatPeriodSeconds} (${c.heartbeatPeriodSeconds}), or every NAT looks silent between two beats`,
      });
    } else if (c.heartbeatPeriodSeconds + c.heartbeatSlackSeconds >= c.silenceSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeatSlackSeconds'],
        message: `with ${ENV.heartbeatPeriodSeconds} (${c.heartbeatPeriodSeconds}) must stay below ${ENV.silenceSeconds} (${c.silenceSeconds}), or a beat is never overdue before the NAT is silent`,
      });
    }
  });

/**
 * Reads and validates the controller's settings once (at cold start). Unset variables take their
 * default; a bad value throws a ConfigError naming the variable and its allowed range.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ControllerConfig {
  const raw: Record<string, unknown> = {};
  for (const [field, variable] of Object.entries(ENV) as [keyof ControllerConfig, string][]) {
    const value = env[variable];
    raw[field] = value === undefined || value.trim() === '' ? defaultAsInput(field) : value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path[0] as keyof ControllerConfig;
      const variable = ENV[field] ?? String(field);
      return `${variable}=${JSON.stringify(env[variable] ?? '')}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid natbeat configuration: ${problems.join('; ')}`, { problems });
  }
  return parsed.data;
}

// Defaults go through the same parser as user input, so they are validated too.
function defaultAsInput(field: keyof ControllerConfig): string {
  const value = DEFAULT_CONFIG[field];
  if (field === 'routeTableTag') {
    const tag = value as ControllerConfig['routeTableTag'];
    return `${tag.key}=${tag.value}`;
  }
  if (field === 'elasticIps') {
    return Object.entries(value as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
  }
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
