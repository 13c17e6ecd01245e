import { describe, expect, it } from 'vitest';
import { DEFAULT_HEARTBEAT_PERIOD_SECONDS, DEFAULT_PROBE_INTERVAL_SECONDS, DEFAULT_HEARTBEAT_NAMESPACE } from '../../common/heartbeat';
import { formatCidr } from '../../agent/cidr';
import { DEFAULT_PEER_PORT } from '../../common/intake-contract';
import { FLAGS, parseCli, usage, type AgentConfig } from '../../agent/config';
import { ConfigError } from '../../agent/errors';
import { main } from '../../agent/main';

function config(argv: string[], env: Record<string, string> = {}): AgentConfig {
  const request = parseCli(argv, env);
  if (request.kind !== 'command') throw new Error('expected a command');
  return request.config;
}

const TARGET = ['--probe-target', '192.0.2.1:443'];
const INTAKE_URL = 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/';
/** run needs the intake's URL. */
const INTAKE = ['--report-url', INTAKE_URL];

describe('Function: parseCli', () => {
  it('applies the shared defaults', () => {
    const parsed = config(['run', ...TARGET, ...INTAKE]);
    expect(parsed).toMatchObject({
      command: 'run',
      json: false,
      intervalSeconds: DEFAULT_PROBE_INTERVAL_SECONDS,
      heartbeatPeriodSeconds: DEFAULT_HEARTBEAT_PERIOD_SECONDS,
      probeTimeoutSeconds: 1,
      probeNamespace: 'natbeat-probe',
      metricNamespace: DEFAULT_HEARTBEAT_NAMESPACE,
      vpcCidrs: [],
      egressInterface: undefined,
      imdsEndpoint: 'http://169.254.169.254',
    });
    expect(formatCidr(parsed.probeCidr)).toBe('169.254.100.0/30');
    // Unset: read from instance metadata.
    expect(parsed.subnetCidr).toBeUndefined();
    expect(parsed.probeTargets).toEqual([{ host: '192.0.2.1', port: 443 }]);
  });

  it('reads every environment twin, comma-separated lists included', () => {
    const parsed = config(['run'], {
      NATBEAT_REPORT_URL: INTAKE_URL,
      NATBEAT_INTERVAL: '5',
      NATBEAT_HEARTBEAT_PERIOD: '20',
      NATBEAT_PROBE_TARGET: '192.0.2.1:80, example.com:443',
      NATBEAT_VPC_CIDR: '10.0.0.0/16,10.1.0.0/16',
      NATBEAT_EGRESS_INTERFACE: 'ens5',
      NATBEAT_PROBE_NAMESPACE: 'probe-x',
      NATBEAT_INSTANCE_ID: 'i-0abc',
      NATBEAT_AVAILABILITY_ZONE: 'eu-west-1b',
      NATBEAT_REGION: 'eu-west-1',
      NATBEAT_GROUP_NAME: 'nat-asg',
      NATBEAT_NAMESPACE: 'Custom/NatBeat',
      NATBEAT_JSON: 'true',
      NATBEAT_SUBNET_CIDR: '10.0.4.0/24',
    });
    expect(parsed).toMatchObject({
      json: true,
      intervalSeconds: 5,
      heartbeatPeriodSeconds: 20,
      probeTimeoutSeconds: 1,
      probeTargets: [
        { host: '192.0.2.1', port: 80 },
        { host: 'example.com', port: 443 },
      ],
      egressInterface: 'ens5',
      probeNamespace: 'probe-x',
      instanceId: 'i-0abc',
      availabilityZone: 'eu-west-1b',
      region: 'eu-west-1',
      groupName: 'nat-asg',
      metricNamespace: 'Custom/NatBeat',
    });
    expect(parsed.vpcCidrs.map(formatCidr)).toEqual(['10.0.0.0/16', '10.1.0.0/16']);
    expect(formatCidr(parsed.subnetCidr!)).toBe('10.0.4.0/24');
  });

  it('lets a flag win over its environment twin, repeated flags included', () => {
    const parsed = config(['check', '--interval', '3', '--vpc-cidr', '10.9.0.0/16', '--vpc-cidr', '10.8.0.0/24', ...TARGET], {
      NATBEAT_INTERVAL: '5',
      NATBEAT_VPC_CIDR: '10.0.0.0/16',
    });
    expect(parsed.intervalSeconds).toBe(3);
    expect(parsed.vpcCidrs.map(formatCidr)).toEqual(['10.9.0.0/16', '10.8.0.0/24']);
  });

  it('defaults the probe timeout to half a short interval', () => {
    expect(config(['run', '--interval', '1', ...TARGET, ...INTAKE]).probeTimeoutSeconds).toBe(0.5);
  });

  it('lets setup run without a probe target', () => {
    expect(config(['setup']).probeTargets).toEqual([]);
  });

  it('hands over by default; handover takes an address or --stop, without a probe target', () => {
    expect(config(['run', ...TARGET, ...INTAKE]).handover).toBe(true);
    expect(config(['setup', '--no-handover']).handover).toBe(false);
    expect(config(['run', ...TARGET, ...INTAKE], { NATBEAT_NO_HANDOVER: 'true' }).handover).toBe(false);
    expect(config(['handover', '--handover-from', '10.0.1.9'])).toMatchObject({ command: 'handover', handoverFrom: '10.0.1.9', handoverStop: false });
    expect(config(['handover', '--stop'])).toMatchObject({ command: 'handover', handoverFrom: undefined, handoverStop: true });
  });

  it.each([
    [['handover'], 'handover needs either --handover-from ADDRESS or --stop'],
    [['handover', '--stop', '--handover-from', '10.0.1.9'], 'handover needs either --handover-from ADDRESS or --stop'],
    [['handover', '--handover-from', '10.0.1'], '--handover-from must be an IPv4 address'],
  ])('rejects %j with "%s"', (argv, message) => {
    expect(() => parseCli(argv, {})).toThrow(message);
  });

  const URL = 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws/';
  it('needs the intake URL to run (heartbeats go nowhere else); the flag wins over its twin', () => {
    expect(() => config(['run', ...TARGET])).toThrow("run needs --report-url URL (or NATBEAT_REPORT_URL): the intake's Function URL");
    expect(config(['check', ...TARGET]).reportUrl).toBeUndefined();
    expect(config(['run', ...TARGET], { NATBEAT_REPORT_URL: URL }).reportUrl).toBe(URL);
    const other = URL.replace('eu-west-1', 'us-gov-west-1');
    expect(config(['run', '--report-url', other, ...TARGET], { NATBEAT_REPORT_URL: URL }).reportUrl).toBe(other);
    expect(config(['run', '--report-url', URL.slice(0, -1), ...TARGET]).reportUrl).toBe(URL.slice(0, -1));
  });

  it('probes peers by default on UDP 4799 every second, 3 misses, from the metadata address; every setting has a twin', () => {
    expect(config(['run', ...TARGET, ...INTAKE])).toMatchObject({ peerProbe: true, peerAddress: undefined, peerPort: DEFAULT_PEER_PORT, peerProbeIntervalSeconds: 1, peerMisses: 3 });
    expect(
      config(['run', ...TARGET, ...INTAKE], { NATBEAT_NO_PEER_PROBE: 'yes', NATBEAT_PEER_ADDRESS: '10.0.1.5', NATBEAT_PEER_PORT: '5000', NATBEAT_PEER_PROBE_INTERVAL: '0.5', NATBEAT_PEER_MISSES: '5' }),
    ).toMatchObject({ peerProbe: false, peerAddress: '10.0.1.5', peerPort: 5000, peerProbeIntervalSeconds: 0.5, peerMisses: 5 });
    expect(config(['run', '--no-peer-probe', '--peer-port', '6000', ...TARGET, ...INTAKE], { NATBEAT_PEER_PORT: '5000' })).toMatchObject({ peerProbe: false, peerPort: 6000 });
  });

  it.each([
    [['--peer-port', '80'], '--peer-port must be a whole number from 1024 to 65535'],
    [['--peer-port', '4799.5'], '--peer-port must be a whole number from 1024 to 65535'],
    [['--peer-port', 'udp'], '--peer-port must be a UDP port'],
    [['--peer-misses', '0'], '--peer-misses must be a whole number from 1 to 60'],
    [['--peer-probe-interval', '0.1'], '--peer-probe-interval must be between 0.2 and 60 seconds'],
    [['--peer-address', '10.0.0.256'], '--peer-address must be an IPv4 address'],
    [['--peer-address', '0.0.0.0/0'], '--peer-address must be an IPv4 address'],
  ])('rejects peer probe setting %j', (argv, message) => {
    expect(() => parseCli(['run', ...argv, ...TARGET], {})).toThrow(message);
  });

  it('returns help for --help', () => {
    expect(parseCli(['--help'], {})).toEqual({ kind: 'help' });
  });

  it.each([
    [[], 'missing command'],
    [['start'], 'unknown command "start"'],
    [['run', 'extra', ...TARGET, ...INTAKE], 'unexpected argument "extra"'],
    [['run', '--bogus', ...TARGET, ...INTAKE], "Unknown option '--bogus'"],
    [['run', '--interval', 'fast', ...TARGET, ...INTAKE], '--interval must be a number of seconds'],
    [['run', '--interval', '0', ...TARGET, ...INTAKE], '--interval must be between 0.2 and 3600 seconds'],
    [['run', '--heartbeat-period', '99999', ...TARGET, ...INTAKE], '--heartbeat-period must be between 1 and 3600 seconds'],
    [['run', '--interval', '2', '--probe-timeout', '2', ...TARGET, ...INTAKE], '--probe-timeout must be shorter than --interval'],
    [['run'], 'run needs --report-url'],
    [['run', ...INTAKE], 'run needs at least one --probe-target'],
    [['check', '--probe-target', 'example.com'], '--probe-target "example.com" must be HOST:PORT'],
    [['check', '--probe-target', '[::1]:80'], 'must be HOST:PORT'],
    [['check', '--probe-target', 'a:70000'], 'port 1–65535'],
    [['setup', '--vpc-cidr', '10.0.0.1/16'], '--vpc-cidr "10.0.0.1/16" is not an IPv4 CIDR block'],
    [['setup', '--probe-cidr', '169.254.1.0/29'], '--probe-cidr must be a /30'],
    [['setup', '--subnet-cidr', '10.0.1.3/24'], '--subnet-cidr "10.0.1.3/24" is not an IPv4 CIDR block'],
    [['setup', '--egress-interface', 'a-very-long-interface-name'], '--egress-interface must be an interface name'],
    [['setup', '--probe-namespace', 'bad name'], '--probe-namespace must be'],
    [['run', '--instance-id', 'abc', ...TARGET, ...INTAKE], '--instance-id must be an instance id'],
    [['run', '--imds-endpoint', 'not a url', ...TARGET, ...INTAKE], '--imds-endpoint must be a URL'],
    [['run', '--report-url', 'natbeat-reconcile', ...TARGET], '--report-url must be a Lambda Function URL'],
    [['run', '--report-url', 'http://abc.lambda-url.eu-west-1.on.aws/', ...TARGET], '--report-url must be'],
    [['run', '--report-url', 'https://evil.example.com/abc.lambda-url.eu-west-1.on.aws/', ...TARGET], '--report-url must be'],
    [['run', '--report-url', 'https://abc.lambda-url.eu-west-1.on.aws/other/path', ...TARGET], '--report-url must be'],
  ])('rejects %j with "%s"', (argv, message) => {
    expect(() => parseCli(argv, {})).toThrow(ConfigError);
    expect(() => parseCli(argv, {})).toThrow(message);
  });

  it('rejects a bad environment value naming the flag', () => {
    expect(() => parseCli(['run', ...TARGET, ...INTAKE], { NATBEAT_INTERVAL: 'soon' })).toThrow('--interval must be a number of seconds');
  });

  it('documents every flag with its environment twin', () => {
    const text = usage();
    for (const [name, spec] of Object.entries(FLAGS)) {
      expect(text).toContain(`--${name}`);
      expect(text).toContain(`[${spec.env}]`);
    }
  });
});

describe('Function: main', () => {
  it('exits 2 on a bad flag and 0 on --help', async () => {
    const write = process.stderr.write;
    const out = process.stdout.write;
    let stderr = '';
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      expect(await main(['check', '--interval=-1'], {})).toBe(2);
      expect(stderr).toContain('--interval must be between');
      expect(await main(['run', '--probe-target', '192.0.2.1:443'], { NATBEAT_REPORT_URL: 'natbeat-reconcile' })).toBe(2);
      expect(stderr).toContain('--report-url must be');
      expect(await main(['--help'], {})).toBe(0);
    } finally {
      process.stderr.write = write;
      process.stdout.write = out;
    }
  });
});

describe('Document: docs/settings.md', () => {
  it('lists every flag with its environment twin', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../docs/settings.md', import.meta.url), 'utf8');
    for (const [name, spec] of Object.entries(FLAGS)) {
      expect(readme).toMatch(new RegExp(`\\| \`--${name}[^|]*\` \\| \`${spec.env}\` \\|`));
    }
  });
});
