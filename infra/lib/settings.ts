/**
 * The NatBeat construct's props, their defaults and their validation: an invalid combination
 * throws at synth with a message naming the prop and its allowed range.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Duration, Names, Token } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { DEFAULT_HANDOVER_DRAIN_SECONDS } from '../../common/handover';
import {
  DEFAULT_HEARTBEAT_PERIOD_SECONDS,
  DEFAULT_PROBE_INTERVAL_SECONDS,
  HEARTBEAT_NAMESPACE_PREFIX,
  HEARTBEAT_PERIOD_RANGE_SECONDS,
  heartbeatNamespace,
} from '../../common/heartbeat';
import { DEFAULT_CONFIG, DEFAULT_HEARTBEAT_SLACK_SECONDS, HEARTBEAT_SLACK_RANGE_SECONDS } from '../../lambdas/core/config';
import { checkAllowedCidrs } from './allowed-cidrs';

/** Root of the natbeat sources: the Lambda entries, the agent and the lock file live there. */
export const NATBEAT_SOURCE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Tag value that marks a group as managed (with the `natbeat:managed` key of the controller). */
export const MANAGED_TAG_VALUE = 'true';

/** Tag put on the NATs' network interfaces (launch template), used to scope AssociateAddress. */
export const GROUP_TAG_KEY = 'natbeat:group';

/**
 * Key of the tag that marks a private route table as one deployment's own (value: the deployment
 * id). The controller selects tables by it and its IAM policy may change only tables carrying it.
 */
export const DEPLOYMENT_TAG_KEY = 'natbeat:deployment';

/** CloudWatch namespaces are at most 255 characters (API_PutMetricData). */
const NAMESPACE_MAX = 255;

/**
 * The id that keeps one deployment apart from every other in the account and Region: its group's
 * name (Auto Scaling group names are unique per account and Region), shortened with a hash of the
 * full name when the heartbeat namespace would outgrow CloudWatch's limit.
 */
export function deploymentIdFor(groupName: string): string {
  return shortenedName(groupName, NAMESPACE_MAX - HEARTBEAT_NAMESPACE_PREFIX.length);
}

/** `name` when it fits in `max` characters, else its head and an 8-hex hash of the whole name. */
function shortenedName(name: string, max: number): string {
  if (Token.isUnresolved(name) || name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, max - hash.length - 1)}-${hash}`;
}

/** Periods a CloudWatch alarm accepts: 10, 20, 30 s or a multiple of 60 s (PutMetricAlarm). */
export function alarmPeriodFor(seconds: number): number {
  for (const p of [10, 20, 30]) if (seconds <= p) return p;
  return Math.ceil(seconds / 60) * 60;
}

/**
 * Fixed name of the reconcile Lambda, derived from the group name. The NATs' user data and IAM
 * policy name the function by it, so the launch template does not depend on the function (a
 * replaced function does not roll the NATs). Lambda names: 1–64 of [A-Za-z0-9_-].
 */
export function reconcileFunctionName(groupName: string): string {
  const suffix = '-reconcile';
  const base = groupName.replace(/[^A-Za-z0-9_-]/g, '-');
  if (base.length + suffix.length <= 64 && base === groupName) return `${base}${suffix}`;
  // Shortened or sanitized: a hash of the real group name keeps two such groups apart.
  const hash = createHash('sha256').update(groupName).digest('hex').slice(0, 8);
  return `${base.slice(0, 64 - suffix.length - hash.length - 1)}-${hash}${suffix}`;
}

/** Lifecycle hook timeouts must be 30–7200 s (PutLifecycleHook HeartbeatTimeout). */
const HOOK_MIN_SECONDS = 30;
const HOOK_MAX_SECONDS = 7200;

export interface NatBeatProps {
  /** The VPC whose private route tables natbeat serves. */
  readonly vpc: ec2.IVpc;

  /**
   * Subnets the NATs are launched in: public subnets, one per Availability Zone.
   * @default - the VPC's public subnets, one per AZ
   */
  readonly natSubnets?: ec2.SubnetSelection;

  /**
   * Private subnets whose route tables natbeat routes through the NATs. Their route tables are
   * tagged with `routeTableTag` when they are defined in this app; imported route tables must be
   * tagged by you.
   * @default - the VPC's isolated subnets (`SubnetType.PRIVATE_ISOLATED`): their route tables have
   * no default route of their own, so natbeat's is the only one
   */
  readonly privateSubnets?: ec2.SubnetSelection;

  /**
   * Tag (`key`, `value`) that marks the private route tables natbeat may route. It is also the
   * IAM condition that limits CreateRoute/ReplaceRoute (together with the VPC). Set
   * `{ key: 'network', value: 'private' }` to keep the convention of existing templates; two
   * deployments in one VPC then must not share it.
   * @default - `natbeat:deployment=<deployment id>` (the group's name): this deployment's tables only
   */
  readonly routeTableTag?: { readonly key: string; readonly value: string };

  /**
   * IPv4 ranges allowed to send traffic through the NATs (security group ingress, and the ranges
   * the agent masquerades). Private ranges only (10/8, 172.16/12, 192.168/16, 100.64/10) unless
   * `allowNonPrivateCidrs` is set.
   * @default - the VPC's primary CIDR block
   */
  readonly allowedCidrs?: string[];

  /**
   * Accept `allowedCidrs` outside the private ranges, `0.0.0.0/0` included: anyone in them may then
   * send traffic through the NATs (an open proxy when it includes the internet).
   * @default false
   */
  readonly allowNonPrivateCidrs?: boolean;

  /**
   * Give the NATs the permissions of Session Manager (shell access through AWS Systems Manager,
   * no SSH): ssm:UpdateInstanceInformation and the four ssmmessages channel actions. Off, a
   * NAT can do nothing with Systems Manager.
   * @default false
   */
  readonly sessionManager?: boolean;

  /**
   * NAT instance type.
   * @default t4g.nano (arm64)
   */
  readonly instanceType?: ec2.InstanceType;

  /**
   * AMI of the NATs. Must be Amazon Linux 2023 (user data and install.sh use dnf and systemd)
   * of the instance type's architecture.
   * @default - latest Amazon Linux 2023 from its public SSM parameter, resolved at deploy time, of
   * the instance type's architecture
   */
  readonly machineImage?: ec2.IMachineImage;

  /**
   * Key pair for SSH. No SSH ingress rule is added from outside the allowed CIDRs either way;
   * use Session Manager.
   * @default - no key pair
   */
  readonly keyPair?: ec2.IKeyPair;

  /**
   * NATs older than this are replaced (picking up a fresh AMI): 1–365 days.
   * @default Duration.days(14)
   */
  readonly maxInstanceLifetime?: Duration;

  /**
   * Name of the Auto Scaling group. A fixed name lets the IAM policies, event rules and alarms
   * refer to the group without depending on it, so the lifecycle rule exists before the first
   * NAT launches.
   * @default - a name unique to this construct in its stack
   */
  readonly groupName?: string;

  /**
   * Seconds between two healthy heartbeats (agent and controller).
   * @default Duration.seconds(10)
   */
  readonly heartbeatPeriod?: Duration;

  /**
   * How late a heartbeat may be (agent jitter, the intake, the write) before it is overdue: a NAT
   * with no beat for `heartbeatPeriod` + this long that a healthy peer cannot reach loses its
   * tables (it is not marked unhealthy for that). `heartbeatPeriod` + this must stay below
   * `silenceWindow`.
   * @default Duration.seconds(3) (DEFAULT_HEARTBEAT_SLACK_SECONDS)
   */
  readonly heartbeatSlack?: Duration;

  /**
   * Seconds between two probe cycles on a NAT.
   * @default Duration.seconds(2)
   */
  readonly probeInterval?: Duration;

  /**
   * A NAT with no heartbeat for this long is silent. Must exceed the heartbeat period.
   * @default Duration.seconds(25) (DEFAULT_CONFIG.silenceSeconds)
   */
  readonly silenceWindow?: Duration;

  /**
   * No NAT is marked unhealthy during this long after it enters service.
   * @default Duration.seconds(300) (DEFAULT_CONFIG.graceSeconds)
   */
  readonly gracePeriod?: Duration;

  /**
   * A launching NAT that has not published a heartbeat within this long is abandoned.
   * @default Duration.seconds(600) (DEFAULT_CONFIG.launchProofTimeoutSeconds)
   */
  readonly launchProofTimeout?: Duration;

  /**
   * Heartbeat timeout of the launch lifecycle hook (DefaultResult ABANDON). Must exceed
   * `launchProofTimeout` so the controller decides before Auto Scaling does.
   * @default launchProofTimeout + 2 minutes
   */
  readonly launchHookTimeout?: Duration;

  /**
   * Heartbeat timeout of the terminate lifecycle hook (DefaultResult CONTINUE): the time the
   * controller has to move routes off a leaving NAT, and (with handover) to let its flows drain.
   * @default handoverDrain + 2 minutes
   */
  readonly terminateHookTimeout?: Duration;

  /**
   * Connection handover on planned moves (failback, planned replacement): for this long the NAT
   * taking a route table hands mid-stream TCP flows back to the NAT they leave, and a terminating
   * NAT's hook waits for them (the terminate hook's timeout defaults to this plus 2 minutes).
   * `Duration.seconds(0)` turns handover off.
   * @default Duration.seconds(300)
   */
  readonly handoverDrain?: Duration;

  /**
   * When more than this share of the fleet is silent or failing at once, nothing is marked
   * unhealthy and the safety-valve alarm pages (0–1).
   * @default 0.5
   */
  readonly maxUnhealthyShare?: number;

  /**
   * Consecutive healthy heartbeats an own-AZ NAT needs before routes fail back to it.
   * @default 3
   */
  readonly failbackHeartbeats?: number;

  /**
   * Elastic IP allocation per Availability Zone (`us-east-1a` → `eipalloc-…`): the NAT of that
   * zone gets it, so egress addresses survive replacement. AssociateAddress is granted on these
   * allocations only.
   * @default - none: NATs use auto-assigned public IPs and the controller may not associate any
   */
  readonly elasticIps?: Record<string, string>;

  /**
   * TCP targets (`host:port`) of the agent's forward-path probe; any one reachable counts.
   * @default - the Region's CloudWatch endpoint on 443 (the agent needs it anyway) and
   * checkip.amazonaws.com:443
   */
  readonly probeTargets?: string[];

  /**
   * Run the controller in dry-run mode: it logs and counts what it would do and changes nothing.
   * @default false
   */
  readonly dryRun?: boolean;

  /**
   * Topic the alarms notify. When given, it is used as it is (its encryption and policy are yours).
   * @default - a new topic that only this deployment's alarms may publish to (see `encryptTopic`)
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Encrypt the alarm topic natbeat creates with a KMS key of its own (rotated yearly), which
   * CloudWatch may use for this deployment's alarms only: CloudWatch can publish to an encrypted
   * topic only through a customer managed key. Costs $1 a month, plus $1 for each of the key's
   * first two rotations. The notifications carry alarm states, nothing secret, and e-mail
   * delivers them unencrypted anyway; turn it on where a policy requires encryption at rest.
   * Ignored with `alarmTopic`.
   * @default false
   */
  readonly encryptTopic?: boolean;

  /**
   * E-mail address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * How long a zone's private route tables may lack a healthy same-AZ NAT before it pages.
   * Whole minutes, 1–60.
   * @default Duration.minutes(3)
   */
  readonly zoneWithoutNatAlarmAfter?: Duration;

  /**
   * How long without a completed reconcile run before the dead-man's switch pages. Whole
   * minutes, 2–60.
   * @default Duration.minutes(5)
   */
  readonly reconcileStoppedAlarmAfter?: Duration;

  /**
   * Retention of the Lambdas' log groups.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Create a CloudWatch dashboard (alarms, the intake's requests, route tables, controller
   * actions). Free while the account has no more than 3 dashboards, $3 a month beyond; the alarms
   * page without it and `natbeat status` shows the fleet.
   * @default false
   */
  readonly dashboard?: boolean;

  /**
   * Root of natbeat sources to bundle the Lambdas and the agent from at synth (needs esbuild).
   * @default - the bundles shipped in the installed package; in a natbeat checkout, its sources
   */
  readonly sourceRoot?: string;
}

/** Resolved settings; every default applied once, in one place. */
export interface Settings {
  readonly groupName: string;
  /** Keeps this deployment apart from others: its heartbeat namespace and route table tag. */
  readonly deploymentId: string;
  /** The only namespace this deployment's NATs may write (heartbeatNamespace(deploymentId)). */
  readonly heartbeatNamespace: string;
  /** The VPC whose route tables the controller may change. */
  readonly vpcId: string;
  readonly routeTableTag: { readonly key: string; readonly value: string };
  readonly heartbeatSeconds: number;
  readonly heartbeatSlackSeconds: number;
  readonly probeIntervalSeconds: number;
  readonly silenceSeconds: number;
  readonly graceSeconds: number;
  readonly launchProofSeconds: number;
  readonly launchHookSeconds: number;
  readonly terminateHookSeconds: number;
  /** 0 = handover off. */
  readonly handoverDrainSeconds: number;
  readonly maxUnhealthyShare: number;
  readonly failbackHeartbeats: number;
  readonly maxInstanceLifetime: Duration;
  readonly elasticIps: Record<string, string>;
  readonly zoneWithoutNatMinutes: number;
  readonly reconcileStoppedMinutes: number;
}

export function fail(message: string): never {
  throw new Error(`NatBeat: ${message}`);
}

function wholeSeconds(name: string, d: Duration): number {
  const s = d.toMilliseconds() / 1000;
  if (!Number.isInteger(s)) fail(`${name} must be a whole number of seconds (got ${s})`);
  return s;
}

function wholeMinutes(name: string, d: Duration, min: number, max: number): number {
  const s = d.toMilliseconds() / 1000;
  if (s % 60 !== 0 || s / 60 < min || s / 60 > max) {
    fail(`${name} must be a whole number of minutes from ${min} to ${max} (got ${s} s)`);
  }
  return s / 60;
}

/** `unit` follows each number (e.g. ' s'); `note` explains a bound that is not fixed. */
function inRange(name: string, value: number, min: number, max: number, unit = '', note = ''): number {
  if (!(value >= min && value <= max)) fail(`${name} must be from ${min} to ${max}${unit}${note ? `, ${note}` : ''} (got ${value}${unit})`);
  return value;
}

/** Applies defaults and validates combinations; throws at synth with the offending prop named. */
export function resolveSettings(scope: Construct, props: NatBeatProps): Settings {
  const heartbeatSeconds = inRange(
    'heartbeatPeriod',
    wholeSeconds('heartbeatPeriod', props.heartbeatPeriod ?? Duration.seconds(DEFAULT_HEARTBEAT_PERIOD_SECONDS)),
    HEARTBEAT_PERIOD_RANGE_SECONDS.min,
    HEARTBEAT_PERIOD_RANGE_SECONDS.max,
    ' s',
  );
  const probeIntervalSeconds = inRange(
    'probeInterval',
    (props.probeInterval ?? Duration.seconds(DEFAULT_PROBE_INTERVAL_SECONDS)).toMilliseconds() / 1000,
    0.2,
    heartbeatSeconds,
    ' s',
    'at most the heartbeat period',
  );
  const silenceSeconds = inRange(
    'silenceWindow',
    wholeSeconds('silenceWindow', props.silenceWindow ?? Duration.seconds(DEFAULT_CONFIG.silenceSeconds)),
    5,
    3600,
    ' s',
  );
  if (silenceSeconds <= heartbeatSeconds) {
    fail(`silenceWindow (${silenceSeconds} s) must exceed heartbeatPeriod (${heartbeatSeconds} s), or every NAT looks silent between two beats`);
  }
  const heartbeatSlackSeconds = inRange(
    'heartbeatSlack',
    wholeSeconds('heartbeatSlack', props.heartbeatSlack ?? Duration.seconds(DEFAULT_HEARTBEAT_SLACK_SECONDS)),
    HEARTBEAT_SLACK_RANGE_SECONDS.min,
    HEARTBEAT_SLACK_RANGE_SECONDS.max,
    ' s',
  );
  if (heartbeatSeconds + heartbeatSlackSeconds >= silenceSeconds) {
    fail(
      `heartbeatPeriod (${heartbeatSeconds} s) + heartbeatSlack (${heartbeatSlackSeconds} s) must stay below silenceWindow (${silenceSeconds} s), or a beat is never overdue before the NAT is silent`,
    );
  }
  const graceSeconds = inRange(
    'gracePeriod',
    wholeSeconds('gracePeriod', props.gracePeriod ?? Duration.seconds(DEFAULT_CONFIG.graceSeconds)),
    0,
    7200,
    ' s',
  );
  const launchProofSeconds = inRange(
    'launchProofTimeout',
    wholeSeconds('launchProofTimeout', props.launchProofTimeout ?? Duration.seconds(DEFAULT_CONFIG.launchProofTimeoutSeconds)),
    HOOK_MIN_SECONDS,
    HOOK_MAX_SECONDS,
    ' s',
  );
  const launchHookSeconds = inRange(
    'launchHookTimeout',
    wholeSeconds('launchHookTimeout', props.launchHookTimeout ?? Duration.seconds(Math.min(launchProofSeconds + 120, HOOK_MAX_SECONDS))),
    HOOK_MIN_SECONDS,
    HOOK_MAX_SECONDS,
    ' s',
  );
  if (launchHookSeconds <= launchProofSeconds) {
    fail(`launchHookTimeout (${launchHookSeconds} s) must exceed launchProofTimeout (${launchProofSeconds} s), so the controller abandons an unproven NAT before the hook times out`);
  }
  const handoverDrainSeconds = inRange(
    'handoverDrain',
    wholeSeconds('handoverDrain', props.handoverDrain ?? Duration.seconds(DEFAULT_HANDOVER_DRAIN_SECONDS)),
    0,
    3600,
    ' s',
  );
  const terminateHookSeconds = inRange(
    'terminateHookTimeout',
    wholeSeconds('terminateHookTimeout', props.terminateHookTimeout ?? Duration.seconds(handoverDrainSeconds + 120)),
    HOOK_MIN_SECONDS,
    HOOK_MAX_SECONDS,
    ' s',
  );
  if (handoverDrainSeconds > 0 && terminateHookSeconds < handoverDrainSeconds + 60) {
    fail(`terminateHookTimeout (${terminateHookSeconds} s) must exceed handoverDrain (${handoverDrainSeconds} s) by at least 60 s, or a leaving NAT goes before its flows have drained`);
  }
  const maxUnhealthyShare = inRange('maxUnhealthyShare', props.maxUnhealthyShare ?? DEFAULT_CONFIG.maxUnhealthyShare, 0, 1);
  const failbackHeartbeats = inRange('failbackHeartbeats', props.failbackHeartbeats ?? DEFAULT_CONFIG.failbackHeartbeats, 1, 100);
  if (!Number.isInteger(failbackHeartbeats)) fail(`failbackHeartbeats must be a whole number (got ${failbackHeartbeats})`);

  const maxInstanceLifetime = props.maxInstanceLifetime ?? Duration.days(14);
  inRange('maxInstanceLifetime', maxInstanceLifetime.toMilliseconds() / 86_400_000, 1, 365, ' days');

  const groupName = props.groupName ?? Names.uniqueResourceName(scope, { maxLength: 120, separator: '-' });
  if (!Token.isUnresolved(groupName) && !/^[\w.-]{1,255}$/.test(groupName)) {
    fail(`groupName must be 1–255 letters, digits, _ . - (got "${groupName}")`);
  }
  const deploymentId = deploymentIdFor(groupName);
  const routeTableTag = props.routeTableTag ?? { key: DEPLOYMENT_TAG_KEY, value: deploymentId };
  if (!routeTableTag.key.trim() || !routeTableTag.value.trim() || routeTableTag.key.includes('=')) {
    fail(`routeTableTag needs a non-empty key without "=" and a non-empty value (got ${JSON.stringify(routeTableTag)})`);
  }

  const elasticIps = props.elasticIps ?? {};
  for (const [az, allocation] of Object.entries(elasticIps)) {
    if (!/^[a-z0-9-]+$/.test(az)) fail(`elasticIps key "${az}" must be an Availability Zone name such as us-east-1a`);
    if (!Token.isUnresolved(allocation) && !/^eipalloc-[0-9a-f]+$/.test(allocation)) {
      fail(`elasticIps["${az}"] must be an allocation id eipalloc-… (got "${allocation}")`);
    }
    // One address serves one NAT: pinned to two zones it would move between them on every run.
    const twice = Object.entries(elasticIps).find(([other, a]) => other !== az && a === allocation && !Token.isUnresolved(a));
    if (twice) fail(`elasticIps pins ${allocation} to both ${az} and ${twice[0]}: pin each address to one zone`);
  }

  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !/^[^@\s]+@[^@\s]+$/.test(props.alarmEmail)) {
    fail(`alarmEmail must be an e-mail address (got "${props.alarmEmail}")`);
  }
  for (const target of props.probeTargets ?? []) {
    if (!Token.isUnresolved(target) && !/^[A-Za-z0-9.-]+:\d{1,5}$/.test(target)) fail(`probeTargets entry "${target}" must be host:port`);
  }
  if (props.probeTargets !== undefined && props.probeTargets.length === 0) fail('probeTargets must not be empty');
  if (props.allowedCidrs !== undefined) checkAllowedCidrs(props.allowedCidrs, props.allowNonPrivateCidrs ?? false);

  return {
    groupName,
    deploymentId,
    heartbeatNamespace: heartbeatNamespace(deploymentId),
    vpcId: props.vpc.vpcId,
    routeTableTag,
    heartbeatSeconds,
    heartbeatSlackSeconds,
    probeIntervalSeconds,
    silenceSeconds,
    graceSeconds,
    launchProofSeconds,
    launchHookSeconds,
    terminateHookSeconds,
    handoverDrainSeconds,
    maxUnhealthyShare,
    failbackHeartbeats,
    maxInstanceLifetime,
    elasticIps,
    zoneWithoutNatMinutes: wholeMinutes('zoneWithoutNatAlarmAfter', props.zoneWithoutNatAlarmAfter ?? Duration.minutes(3), 1, 60),
    reconcileStoppedMinutes: wholeMinutes('reconcileStoppedAlarmAfter', props.reconcileStoppedAlarmAfter ?? Duration.minutes(5), 2, 60),
  };
}
