/**
 * Command line and environment → validated agent configuration. Pure: no I/O, so every rule is
 * unit-tested. Every flag has an environment twin; a flag wins over its twin.
 */
import { parseArgs } from 'node:util';
import * as z from 'zod/mini';
import { HANDOVER_TAG_KEY } from '../common/handover';
import { DEFAULT_PEER_PORT } from '../common/intake-contract';
import { DEFAULT_HEARTBEAT_PERIOD_SECONDS, DEFAULT_PROBE_INTERVAL_SECONDS, DEFAULT_HEARTBEAT_NAMESPACE } from '../common/heartbeat';
import { formatCidr, parseCidr, type Ipv4Cidr } from './cidr';
import { ConfigError } from './errors';

export const COMMANDS = ['setup', 'check', 'run', 'handover'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ProbeTarget {
  host: string;
  port: number;
}

export interface AgentConfig {
  command: Command;
  json: boolean;
  intervalSeconds: number;
  heartbeatPeriodSeconds: number;
  probeTimeoutSeconds: number;
  probeTargets: ProbeTarget[];
  /** Empty: read from instance metadata. */
  vpcCidrs: Ipv4Cidr[];
  /** Undefined: the interface of the default route. */
  egressInterface: string | undefined;
  probeNamespace: string;
  probeCidr: Ipv4Cidr;
  /** This NAT's subnet, whose reserved network+3 is the probe's source. Undefined: read from instance metadata. */
  subnetCidr: Ipv4Cidr | undefined;
  instanceId: string | undefined;
  availabilityZone: string | undefined;
  region: string | undefined;
  groupName: string | undefined;
  metricNamespace: string;
  imdsEndpoint: string;
  imdsTimeoutSeconds: number;
  /** The intake's Function URL (AWS_IAM auth) every heartbeat is POSTed to, signed; required by run. */
  reportUrl: string | undefined;
  /** Handover on (setup: the tunnel device; run: follow the handover tag). */
  handover: boolean;
  /** handover: the NAT to hand mid-stream flows to. */
  handoverFrom: string | undefined;
  /** handover: stop handing over. */
  handoverStop: boolean;
  /** run: answer peers' probes and probe the peers (a witness for the controller). */
  peerProbe: boolean;
  /** Where the peer responder listens and probes leave from; undefined: the primary private IPv4 from instance metadata. */
  peerAddress: string | undefined;
  peerPort: number;
  peerProbeIntervalSeconds: number;
  /** Consecutive unanswered probes after which a peer is reported unreachable. */
  peerMisses: number;
}

export const DEFAULT_PROBE_NAMESPACE = 'natbeat-probe';
/** Link-local, so it can never clash with a VPC range; a /30 holds exactly the two veth ends (the probe's source is a VPC address, see --subnet-cidr). */
export const DEFAULT_PROBE_CIDR = '169.254.100.0/30';
export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';
export const DEFAULT_IMDS_TIMEOUT_SECONDS = 1;
/** Upper bound of the default probe timeout; the default is also at most half the interval. */
export const MAX_DEFAULT_PROBE_TIMEOUT_SECONDS = 1;
export const DEFAULT_PEER_PROBE_INTERVAL_SECONDS = 1;
export const DEFAULT_PEER_MISSES = 3;

interface FlagSpec {
  env: string;
  value: string;
  help: string;
  multiple?: boolean;
  boolean?: boolean;
}

/** Every flag, its environment twin and its help line: the single source of `--help` and docs/settings.md. */
export const FLAGS = {
  json: { env: 'NATBEAT_JSON', value: '', boolean: true, help: 'check: print the report as JSON ({"healthy", "probes": [...]})' },
  interval: { env: 'NATBEAT_INTERVAL', value: 'SECONDS', help: `seconds between probe cycles (default ${DEFAULT_PROBE_INTERVAL_SECONDS}, 0.2–3600)` },
  'heartbeat-period': { env: 'NATBEAT_HEARTBEAT_PERIOD', value: 'SECONDS', help: `seconds between two heartbeats when nothing changes (default ${DEFAULT_HEARTBEAT_PERIOD_SECONDS}, 1–3600)` },
  'probe-timeout': { env: 'NATBEAT_PROBE_TIMEOUT', value: 'SECONDS', help: `time limit of each probe, below the interval (default min(${MAX_DEFAULT_PROBE_TIMEOUT_SECONDS}, interval/2))` },
  'probe-target': { env: 'NATBEAT_PROBE_TARGET', value: 'HOST:PORT', multiple: true, help: 'TCP target of the forward-path probe, IPv4 or host name; repeat (env: comma-separated); any one reaching counts. Required by check and run' },
  'vpc-cidr': { env: 'NATBEAT_VPC_CIDR', value: 'CIDR', multiple: true, help: 'VPC IPv4 range to masquerade; repeat (env: comma-separated). Default: all ranges of the VPC from instance metadata' },
  'egress-interface': { env: 'NATBEAT_EGRESS_INTERFACE', value: 'NAME', help: 'interface towards the internet (default: the interface of the default route)' },
  'probe-namespace': { env: 'NATBEAT_PROBE_NAMESPACE', value: 'NAME', help: `network namespace of the forward-path probe (default ${DEFAULT_PROBE_NAMESPACE})` },
  'probe-cidr': { env: 'NATBEAT_PROBE_CIDR', value: 'CIDR', help: `/30 linking the probe namespace to the host, outside the VPC; .1 host side (the next hop), .2 probe side (default ${DEFAULT_PROBE_CIDR})` },
  'subnet-cidr': {
    env: 'NATBEAT_SUBNET_CIDR',
    value: 'CIDR',
    help: "setup, run: this NAT's own subnet; the forward-path probe sends from its network+3 address, which AWS reserves, so it is filtered and masqueraded like a private host (default: instance metadata)",
  },
  'instance-id': { env: 'NATBEAT_INSTANCE_ID', value: 'ID', help: 'EC2 instance id (default: instance metadata)' },
  'availability-zone': { env: 'NATBEAT_AVAILABILITY_ZONE', value: 'AZ', help: 'Availability Zone (default: instance metadata)' },
  region: { env: 'NATBEAT_REGION', value: 'REGION', help: "AWS Region to sign the intake requests for when the URL does not say (default: the URL's, else AWS_REGION, else instance metadata)" },
  'group-name': { env: 'NATBEAT_GROUP_NAME', value: 'NAME', help: 'Auto Scaling group name (default: instance metadata tag aws:autoscaling:groupName)' },
  namespace: { env: 'NATBEAT_NAMESPACE', value: 'NAMESPACE', help: `CloudWatch namespace of the heartbeat (default ${DEFAULT_HEARTBEAT_NAMESPACE})` },
  'imds-endpoint': { env: 'NATBEAT_IMDS_ENDPOINT', value: 'URL', help: `instance metadata base URL (default ${DEFAULT_IMDS_ENDPOINT})` },
  'imds-timeout': { env: 'NATBEAT_IMDS_TIMEOUT', value: 'SECONDS', help: `time limit of each instance metadata request (default ${DEFAULT_IMDS_TIMEOUT_SECONDS})` },
  'report-url': {
    env: 'NATBEAT_REPORT_URL',
    value: 'URL',
    help: "run: the controller's intake (a Lambda Function URL with AWS_IAM auth); every heartbeat is POSTed there, signed with the instance role: each period, and at once on a failure, a recovery or a newly unreachable peer. Required by run",
  },
  'no-handover': {
    env: 'NATBEAT_NO_HANDOVER',
    value: '',
    boolean: true,
    help: `setup: no VXLAN device for handed-over flows; run: ignore the ${HANDOVER_TAG_KEY} instance tag (default: handover on)`,
  },
  'handover-from': { env: 'NATBEAT_HANDOVER_FROM', value: 'ADDRESS', help: 'handover: private IPv4 address of the NAT whose flows this NAT hands back to it' },
  stop: { env: 'NATBEAT_HANDOVER_STOP', value: '', boolean: true, help: 'handover: stop handing over and remove what handover set up' },
  'no-peer-probe': {
    env: 'NATBEAT_NO_PEER_PROBE',
    value: '',
    boolean: true,
    help: "run: neither answer the other NATs' peer probes nor probe them (default: peer probe on; this NAT then witnesses for nobody, and nobody for it)",
  },
  'peer-address': { env: 'NATBEAT_PEER_ADDRESS', value: 'ADDRESS', help: "run: IPv4 address the peer responder listens on and peer probes leave from (default: the instance's primary private IPv4 from instance metadata)" },
  'peer-port': { env: 'NATBEAT_PEER_PORT', value: 'PORT', help: `run: UDP port of the peer responder, on every NAT of the deployment (default ${DEFAULT_PEER_PORT}, 1024–65535)` },
  'peer-probe-interval': { env: 'NATBEAT_PEER_PROBE_INTERVAL', value: 'SECONDS', help: `run: seconds between two probes of each peer; each waits 1 s for its answer (default ${DEFAULT_PEER_PROBE_INTERVAL_SECONDS}, 0.2–60)` },
  'peer-misses': { env: 'NATBEAT_PEER_MISSES', value: 'COUNT', help: `run: unanswered probes in a row after which a peer is reported unreachable (default ${DEFAULT_PEER_MISSES}, 1–60)` },
} as const satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof FLAGS;

export function usage(): string {
  const lines = [
    'Usage: natbeat-agent <setup|check|run> [flags]',
    '',
    '  setup   configure this host as a NAT (forwarding, masquerade, conntrack timeouts, probe namespace); idempotent',
    '  check   run every probe once; exit 0 when healthy, 1 when not',
    '  run     probe every interval and send the routing heartbeat to the intake (--report-url); follow the handover tag',
    '  handover  hand mid-stream TCP flows to the NAT a route moved from (--handover-from ADDRESS), or --stop; idempotent',
    '',
    'Flags (environment twin in brackets; a flag wins over its twin):',
  ];
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    const flag = spec.value ? `--${name} ${spec.value}` : `--${name}`;
    lines.push(`  ${flag.padEnd(30)} ${spec.help} [${spec.env}]`);
  }
  lines.push(`  ${'--help'.padEnd(30)} this text`);
  return lines.join('\n');
}

// zod/mini: the same validation as full zod at a fraction of the bundle and memory (it runs on a t4g.nano).
const seconds = (flag: string, min: number, max: number) =>
  z.coerce.number({ error: `--${flag} must be a number of seconds` }).check(
    z.refine((value: number) => Number.isFinite(value) && value >= min && value <= max, {
      error: `--${flag} must be between ${min} and ${max} seconds`,
    }),
  );

const matching = (pattern: RegExp, error: string) => z.string().check(z.regex(pattern, { error }));

const interfaceName = (flag: string) =>
  matching(/^[A-Za-z0-9_.@-]{1,15}$/, `--${flag} must be an interface name (1–15 letters, digits, _ . - @)`);

const cidr = (flag: string) =>
  z.pipe(
    z.string(),
    z.transform((text: string, ctx) => {
      const parsed = parseCidr(text);
      if (!parsed) {
        ctx.issues.push({ code: 'custom', message: `--${flag} "${text}" is not an IPv4 CIDR block (network address/prefix length)`, input: text });
        return z.NEVER;
      }
      return parsed;
    }),
  );

const probeTarget = z.pipe(
  z.string(),
  z.transform((text: string, ctx): ProbeTarget => {
    const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(text.trim());
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      ctx.issues.push({ code: 'custom', message: `--probe-target "${text}" must be HOST:PORT (IPv4 address or host name, port 1–65535)`, input: text });
      return z.NEVER;
    }
    return { host: match[1] as string, port };
  }),
);

/** A Lambda Function URL: https, the `<url-id>.lambda-url.<region>.on.aws` host, path `/`. */
const FUNCTION_URL = /^https:\/\/[a-z0-9]{1,64}\.lambda-url\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.on\.aws\/?$/;

const wholeNumber = (flag: string, what: string, min: number, max: number) =>
  z.coerce.number({ error: `--${flag} must be ${what}` }).check(
    z.refine((value: number) => Number.isInteger(value) && value >= min && value <= max, {
      error: `--${flag} must be a whole number from ${min} to ${max}`,
    }),
  );

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

const optionalText = (flag: string, pattern: RegExp, what: string) => z.optional(matching(pattern, `--${flag} must be ${what}`));

const schema = z
  .object({
    json: z.boolean(),
    interval: z._default(seconds('interval', 0.2, 3600), DEFAULT_PROBE_INTERVAL_SECONDS),
    'heartbeat-period': z._default(seconds('heartbeat-period', 1, 3600), DEFAULT_HEARTBEAT_PERIOD_SECONDS),
    'probe-timeout': z.optional(seconds('probe-timeout', 0.05, 3600)),
    'probe-target': z.array(probeTarget),
    'vpc-cidr': z.array(cidr('vpc-cidr')),
    'egress-interface': z.optional(interfaceName('egress-interface')),
    'probe-namespace': z._default(matching(/^[A-Za-z0-9_.-]{1,64}$/, '--probe-namespace must be 1–64 letters, digits, _ . -'), DEFAULT_PROBE_NAMESPACE),
    'probe-cidr': z.optional(cidr('probe-cidr').check(z.refine((block: Ipv4Cidr) => block.prefixLength === 30, { error: '--probe-cidr must be a /30' }))),
    'subnet-cidr': z.optional(cidr('subnet-cidr')),
    'instance-id': optionalText('instance-id', /^i-[0-9a-f]+$/, 'an instance id (i- and lowercase hex)'),
    'availability-zone': optionalText('availability-zone', /^[a-z0-9-]+$/, 'an Availability Zone name'),
    region: optionalText('region', /^[a-z0-9-]+$/, 'a Region name'),
    'group-name': optionalText('group-name', /^.{1,255}$/, '1–255 characters'),
    namespace: z._default(
      matching(/^[^:][^\s]{0,254}$/, '--namespace must be a CloudWatch namespace (1–255 characters, no spaces, not starting with ":")'),
      DEFAULT_HEARTBEAT_NAMESPACE,
    ),
    'imds-endpoint': z._default(z.url({ error: '--imds-endpoint must be a URL' }), DEFAULT_IMDS_ENDPOINT),
    'imds-timeout': z._default(seconds('imds-timeout', 0.05, 60), DEFAULT_IMDS_TIMEOUT_SECONDS),
    'report-url': optionalText('report-url', FUNCTION_URL, 'a Lambda Function URL (https://<id>.lambda-url.<region>.on.aws/)'),
    'no-handover': z.boolean(),
    'handover-from': optionalText('handover-from', IPV4, 'an IPv4 address'),
    stop: z.boolean(),
    'no-peer-probe': z.boolean(),
    'peer-address': optionalText('peer-address', IPV4, 'an IPv4 address'),
    'peer-port': z._default(wholeNumber('peer-port', 'a UDP port', 1024, 65535), DEFAULT_PEER_PORT),
    'peer-probe-interval': z._default(seconds('peer-probe-interval', 0.2, 60), DEFAULT_PEER_PROBE_INTERVAL_SECONDS),
    'peer-misses': z._default(wholeNumber('peer-misses', 'a count', 1, 60), DEFAULT_PEER_MISSES),
  })
  .check(
    z.refine((value: { interval: number; 'probe-timeout'?: number | undefined }) => value['probe-timeout'] === undefined || value['probe-timeout'] < value.interval, {
      error: '--probe-timeout must be shorter than --interval',
    }),
  );

export type CliRequest = { kind: 'help' } | { kind: 'command'; config: AgentConfig };

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

/**
 * Parses `argv` (without node and script) and the environment. Throws ConfigError with a message
 * naming the bad flag; the CLI turns it into exit code 2.
 */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(
          Object.entries(FLAGS).map(([name, spec]: [string, FlagSpec]) => [
            name,
            spec.boolean ? { type: 'boolean' as const } : { type: 'string' as const, multiple: spec.multiple ?? false },
          ]),
        ),
      },
    });
  } catch (error) {
    throw new ConfigError((error as Error).message, { cause: error });
  }
  if (parsed.values.help) return { kind: 'help' };
  const [command, ...extra] = parsed.positionals;
  if (command === undefined) throw new ConfigError(`missing command: expected one of ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new ConfigError(`unknown command "${command}": expected one of ${COMMANDS.join(', ')}`);
  }
  if (extra.length > 0) throw new ConfigError(`unexpected argument "${extra[0]}"`);

  const raw: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, FlagSpec][]) {
    const fromFlag = (parsed.values as Record<string, unknown>)[name];
    const fromEnv = env[spec.env]?.trim() || undefined;
    if (spec.boolean) {
      raw[name] = fromFlag === true || (fromEnv !== undefined && TRUE_WORDS.has(fromEnv.toLowerCase()));
    } else if (spec.multiple) {
      raw[name] = (fromFlag as string[] | undefined) ?? fromEnv?.split(',').map((item) => item.trim()).filter(Boolean) ?? [];
    } else {
      raw[name] = fromFlag ?? fromEnv;
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => issue.message).join('; '));
  }
  const value = result.data;
  const config: AgentConfig = {
    command: command as Command,
    json: value.json,
    intervalSeconds: value.interval,
    heartbeatPeriodSeconds: value['heartbeat-period'],
    probeTimeoutSeconds: value['probe-timeout'] ?? Math.min(MAX_DEFAULT_PROBE_TIMEOUT_SECONDS, value.interval / 2),
    probeTargets: value['probe-target'],
    vpcCidrs: value['vpc-cidr'],
    egressInterface: value['egress-interface'],
    probeNamespace: value['probe-namespace'],
    probeCidr: value['probe-cidr'] ?? (parseCidr(DEFAULT_PROBE_CIDR) as Ipv4Cidr),
    subnetCidr: value['subnet-cidr'],
    instanceId: value['instance-id'],
    availabilityZone: value['availability-zone'],
    region: value.region,
    groupName: value['group-name'],
    metricNamespace: value.namespace,
    imdsEndpoint: value['imds-endpoint'].replace(/\/+$/, ''),
    imdsTimeoutSeconds: value['imds-timeout'],
    reportUrl: value['report-url'],
    handover: !value['no-handover'],
    handoverFrom: value['handover-from'],
    handoverStop: value.stop,
    peerProbe: !value['no-peer-probe'],
    peerAddress: value['peer-address'],
    peerPort: value['peer-port'],
    peerProbeIntervalSeconds: value['peer-probe-interval'],
    peerMisses: value['peer-misses'],
  };
  if (config.command === 'handover' && (config.handoverFrom === undefined) === !config.handoverStop) {
    throw new ConfigError('handover needs either --handover-from ADDRESS or --stop');
  }
  if (config.command === 'run' && config.reportUrl === undefined) {
    throw new ConfigError("run needs --report-url URL (or NATBEAT_REPORT_URL): the intake's Function URL, where every heartbeat goes");
  }
  if ((config.command === 'check' || config.command === 'run') && config.probeTargets.length === 0) {
    throw new ConfigError(`${config.command} needs at least one --probe-target HOST:PORT (or NATBEAT_PROBE_TARGET) for the forward-path probe`);
  }
  return { kind: 'command', config };
}

export function describeConfig(config: AgentConfig): Record<string, unknown> {
  return {
    ...config,
    vpcCidrs: config.vpcCidrs.map(formatCidr),
    probeCidr: formatCidr(config.probeCidr),
    subnetCidr: config.subnetCidr && formatCidr(config.subnetCidr),
    probeTargets: config.probeTargets.map((target) => `${target.host}:${target.port}`),
  };
}
