/**
 * The built agent on a real kernel: private host → NAT → "internet" in network namespaces, the agent
 * in the NAT namespace, heartbeats read back from moto. Faults are injected with sysctl, nft and
 * ip link, and every one must be caught by the right probe and stop the heartbeat.
 * Needs root, ip, nft and nsenter; NATBEAT_REQUIRE_NETNS=1 turns a skip into a failure (CI as root).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReportBody } from '../../lambdas/core/caller-identity';
import { buildAgentBundle } from './helpers/build-agent';
import { FakeIntake } from './helpers/fake-intake';
import { startMoto, type MotoServer } from '../support/moto';
import { UnixBridge } from './helpers/moto';
import {
  EGRESS_INTERFACE,
  INTERNET_GATEWAY_IP,
  NAT_PRIVATE_IP,
  NAT_PUBLIC_IP,
  NAT_SUBNET,
  NatTopology,
  netnsUnavailableReason,
  PROBE_SOURCE,
  SERVER_IP,
  SERVER_PORT,
  sh,
  VPC_CIDR,
  waitForExit,
  waitForLine,
} from './helpers/topology';

const netnsReason = netnsUnavailableReason();
const requireNetns = process.env.NATBEAT_REQUIRE_NETNS === '1';
const requireMoto = process.env.NATBEAT_REQUIRE_MOTO === '1';

function motoImportReason(): string | undefined {
  try {
    execFileSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore', timeout: 20_000 });
    return undefined;
  } catch {
    return 'python3 cannot import moto.server (pip install "moto[server]")';
  }
}
const motoReason = netnsReason ? undefined : motoImportReason();

if (netnsReason) console.warn(`real-kernel agent tests skipped: ${netnsReason}`);
else if (motoReason) console.warn(`real-kernel heartbeat tests skipped: ${motoReason}`);

describe.runIf(requireNetns)('Real-kernel prerequisites (NATBEAT_REQUIRE_NETNS=1)', () => {
  it('has root, ip, nft and nsenter', () => {
    expect(netnsReason).toBeUndefined();
  });
});

describe.runIf(requireMoto && !netnsReason)('moto prerequisite (NATBEAT_REQUIRE_MOTO=1)', () => {
  it('can import moto.server', () => {
    expect(motoReason).toBeUndefined();
  });
});

const INTERVAL_S = 1;
const GROUP = `nbt-group-${process.pid}`;
// Hex only: the controller's schema checks the instance id of a failure report.
const INSTANCE = `i-0feed${process.pid.toString(16)}`;
const ZONE = 'us-east-1a';
/** Port of the moto bridge inside the NAT namespace. */
const BRIDGE_PORT = 4566;
/**
 * Port of the bridge to a local HTTP server posing as the Lambda endpoint (moto's Lambda Invoke
 * needs Docker): the agent's failure reports are read back from it.
 */
const LAMBDA_BRIDGE_PORT = 4567;
/** A part of the VPC range that does not contain the NAT's subnet. */
const NARROWED_RANGE = '10.77.2.0/24';
const REPORT_URL = 'https://nbtintake0123456789.lambda-url.us-east-1.on.aws/';

interface Fault {
  name: string;
  mustFail: string[];
  mustPass: string[];
  inject: () => Promise<unknown>;
  repair: () => Promise<unknown>;
  /** The fault also cuts the private host's egress (checked, so the probe is shown to see what private hosts see). */
  cutsPrivateEgress?: boolean;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(netnsReason !== undefined)('Agent on a real kernel', () => {
  const topology = new NatTopology();
  let bundleDir = '';
  let bundle = '';
  let server: ChildProcess | undefined;
  let moto: MotoServer | undefined;
  let bridge: UnixBridge | undefined;
  let intake: FakeIntake | undefined;
  let lambdaBridge: UnixBridge | undefined;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  let cloudWatch: CloudWatchClient | undefined;
  const testStart = new Date(Date.now() - 5_000);

  const commonFlags = [
    ...['--vpc-cidr', VPC_CIDR, '--subnet-cidr', NAT_SUBNET, '--probe-namespace', topology.probe],
    ...['--probe-target', `${SERVER_IP}:${SERVER_PORT}`, '--interval', String(INTERVAL_S)],
  ];

  function agentCli(args: string[]): Promise<CliResult> {
    return topology.run(topology.nat, [process.execPath, bundle, ...args]);
  }

  async function check(): Promise<{ code: number; healthy: boolean; failing: string[]; report: unknown }> {
    // A one-off check has no interval to keep: a generous probe timeout keeps a busy machine from failing healthy probes.
    const result = await agentCli(['check', '--json', ...commonFlags, '--interval', '30', '--probe-timeout', '3']);
    if (result.stdout.trim() === '') throw new Error(`check printed no report (exit ${result.code}): ${result.stderr}`);
    const report = JSON.parse(result.stdout) as { healthy: boolean; probes: { name: string; ok: boolean }[] };
    return { code: result.code, healthy: report.healthy, failing: report.probes.filter((p) => !p.ok).map((p) => p.name), report };
  }

  async function natState(): Promise<string[]> {
    return Promise.all([
      topology.in(topology.nat, ['nft', 'list', 'table', 'ip', 'natbeat']),
      topology.in(topology.nat, [
        'cat',
        '/proc/sys/net/ipv4/ip_forward',
        '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established',
        ...['all', 'default', EGRESS_INTERFACE].map((scope) => `/proc/sys/net/ipv4/conf/${scope}/send_redirects`),
      ]),
      topology.in(topology.nat, ['ip', '-br', 'addr', 'show', 'natbeat-host']),
      sh(['ip', '-n', topology.probe, '-br', 'addr', 'show']),
      sh(['ip', '-n', topology.probe, 'route', 'show']),
      topology.in(topology.nat, ['ip', 'route', 'show', 'dev', 'natbeat-host']),
    ]);
  }

  /** Per-second [max, min] of the heartbeats (1 ok, 0 failing) the intake received since `from`. */
  async function heartbeats(from: Date): Promise<{ at: number; max: number; min: number }[]> {
    const bySecond = new Map<number, number[]>();
    for (const report of intake!.reports.filter((r) => r.at >= from.getTime())) {
      const second = Math.floor(report.at / 1000) * 1000;
      const value = (report.body as { status?: string }).status === 'ok' ? 1 : 0;
      bySecond.set(second, [...(bySecond.get(second) ?? []), value]);
    }
    return [...bySecond].map(([at, values]) => ({ at, max: Math.max(...values), min: Math.min(...values) }));
  }

  async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 8_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent log:\n${agentLog.slice(-3000)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  beforeAll(async () => {
    bundleDir = await mkdtemp(join(tmpdir(), 'natbeat-agent-'));
    bundle = await buildAgentBundle(join(bundleDir, 'natbeat-agent.mjs'));
    await topology.create();
    // Strict reverse-path filtering in the NAT (as some images set it): the probe's VPC source
    // arriving on the veth must pass it, which it does because the host routes that source back there.
    await topology.in(topology.nat, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter && echo 1 > /proc/sys/net/ipv4/conf/default/rp_filter']);
    server = await topology.startServer();
    if (!motoReason) {
      moto = await startMoto();
      bridge = await UnixBridge.toTcp(Number(new URL(moto.endpoint).port));
      await waitForLine(topology.spawnIn(topology.nat, [process.execPath, '-e', bridge.namespaceSideScript(BRIDGE_PORT)]), 'bridging');
      intake = await FakeIntake.start('us-east-1');
      lambdaBridge = await UnixBridge.toTcp(intake.port);
      await waitForLine(topology.spawnIn(topology.nat, [process.execPath, '-e', lambdaBridge.namespaceSideScript(LAMBDA_BRIDGE_PORT)]), 'bridging');
      cloudWatch = new CloudWatchClient({
        endpoint: moto.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        disableRequestCompression: true,
      });
    }
  });

  afterAll(async () => {
    agent?.kill('SIGKILL');
    await topology.destroy();
    await bridge?.close();
    await lambdaBridge?.close();
    await intake?.stop();
    await moto?.stop();
    cloudWatch?.destroy();
    if (bundleDir) await rm(bundleDir, { recursive: true, force: true });
  });

  it('setup configures forwarding, masquerade, conntrack and the probe namespace, and a second run changes nothing', async () => {
    const first = await agentCli(['setup', ...commonFlags]);
    expect(first.code).toBe(0);
    const before = await natState();
    const [table, sysctls, , probeAddresses, probeRoutes, hostRoutes] = before;
    expect(table).toContain(`oifname "${EGRESS_INTERFACE}" ip saddr ${VPC_CIDR} masquerade`);
    expect(table).toContain(`ip saddr ${PROBE_SOURCE} drop`);
    // ip_forward, conntrack timeout, then send_redirects (all, default, egress) all off.
    expect(sysctls?.split('\n').slice(0, 5)).toEqual(['1', '350', '0', '0', '0']);
    expect(probeAddresses).toContain('169.254.100.2/30');
    expect(probeAddresses).toContain(`${PROBE_SOURCE}/32`);
    expect(probeRoutes).toContain(`default via 169.254.100.1 dev natbeat-probe src ${PROBE_SOURCE}`);
    expect(hostRoutes).toContain(`${PROBE_SOURCE} via 169.254.100.2`);

    const second = await agentCli(['setup', ...commonFlags]);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('nothing changed');
    expect(await natState()).toEqual(before);
  });

  /** Narrows our masquerade rule to a part of the VPC that excludes the NAT's subnet (as a hand edit would); returns the table as it was. */
  async function narrowMasquerade(): Promise<string> {
    const table = await topology.in(topology.nat, ['nft', 'list', 'table', 'ip', 'natbeat']);
    expect(table).toContain(VPC_CIDR);
    await topology.in(topology.nat, ['nft', '-f', '-'], { input: `delete table ip natbeat\n${table.replaceAll(VPC_CIDR, NARROWED_RANGE)}` });
    return table;
  }

  /** The address the internet server saw a request from `ns` (the private host's by default) come from; undefined when it got no answer. */
  async function privateHostSeenAs(ns = topology.private): Promise<string | undefined> {
    const result = await topology.run(ns, [
      process.execPath,
      '-e',
      `require('http').get({ host: '${SERVER_IP}', port: ${SERVER_PORT}, timeout: 2000 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(b)); }).on('timeout', () => process.exit(3)).on('error', () => process.exit(4))`,
    ]);
    return result.code === 0 ? result.stdout.trim() : undefined;
  }

  it('lets the private host reach the internet server, masqueraded behind the NAT address', async () => {
    expect(await privateHostSeenAs()).toBe(NAT_PUBLIC_IP);
  });

  it("sends the probe from the subnet's reserved address, masqueraded behind the NAT address like the private host", async () => {
    expect(await sh(['ip', '-n', topology.probe, 'route', 'get', SERVER_IP])).toContain(`src ${PROBE_SOURCE} `);
    expect(await privateHostSeenAs(topology.probe)).toBe(NAT_PUBLIC_IP);
  });

  it('never lets the probe source out untranslated: with the masquerade narrowed, the guard drops it even where a route back exists', async () => {
    // A network that would carry the VPC range back (the internet does not; a peering or VPN could).
    await topology.in(topology.internet, ['ip', 'route', 'add', VPC_CIDR, 'via', NAT_PUBLIC_IP]);
    let table = '';
    try {
      table = await narrowMasquerade();
      expect(await privateHostSeenAs(topology.probe)).toBeUndefined();
      // What the guard prevents: without it the reserved address reaches the server.
      await topology.in(topology.nat, ['nft', 'delete', 'chain', 'ip', 'natbeat', 'probe_guard']);
      expect(await privateHostSeenAs(topology.probe)).toBe(PROBE_SOURCE);
    } finally {
      await topology.in(topology.internet, ['ip', 'route', 'del', VPC_CIDR]);
      expect((await agentCli(['setup', ...commonFlags])).code).toBe(0);
    }
    expect(await topology.in(topology.nat, ['nft', 'list', 'table', 'ip', 'natbeat'])).toBe(table);
  });

  /**
   * Faults keyed on the VPC's ranges: they hit private hosts only, so the probe sees them only because it
   * sends from a VPC address (the link-local source of earlier versions walked past both).
   */
  const vpcKeyedFaults: Fault[] = [
    {
      // Keyed on the VPC's range, so only traffic from private hosts is hit: the probe's source
      // must be in that range for it to see this (a link-local source walked past it).
      name: `a forward rule dropping the VPC range (ip saddr ${VPC_CIDR} drop)`,
      mustFail: ['forward-path'],
      mustPass: ['forwarding', 'nat-rule', 'egress'],
      cutsPrivateEgress: true,
      inject: () =>
        topology.in(topology.nat, ['nft', '-f', '-'], {
          input: `table inet nbt_fault {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n    ip saddr ${VPC_CIDR} drop\n  }\n}\n`,
        }),
      repair: () => topology.in(topology.nat, ['nft', 'delete', 'table', 'inet', 'nbt_fault']),
    },
    {
      // Someone narrows the masquerade rule to another part of the VPC: this subnet's traffic
      // leaves untranslated and gets no answer.
      name: 'the masquerade rule narrowed to a range that excludes the subnet',
      mustFail: ['nat-rule', 'forward-path'],
      mustPass: ['forwarding', 'egress'],
      cutsPrivateEgress: true,
      inject: narrowMasquerade,
      repair: () => agentCli(['setup', ...commonFlags]),
    },
  ];

  it.each(vpcKeyedFaults)('check sees what private hosts see: $name', async (fault) => {
    await fault.inject();
    try {
      const failed = await check();
      expect(failed).toMatchObject({ code: 1, healthy: false });
      expect(failed.failing).toEqual(expect.arrayContaining(fault.mustFail));
      for (const name of fault.mustPass) expect(failed.failing).not.toContain(name);
      expect(await privateHostSeenAs()).toBeUndefined();
    } finally {
      await fault.repair();
    }
    expect(await check()).toMatchObject({ code: 0, healthy: true, failing: [] });
    expect(await privateHostSeenAs()).toBe(NAT_PUBLIC_IP);
  });

  it('check --json reports every probe healthy and exits 0', async () => {
    const result = await check();
    expect(result).toMatchObject({ code: 0, healthy: true, failing: [] });
    expect((result.report as { probes: { name: string }[] }).probes.map((p) => p.name)).toEqual(['forwarding', 'nat-rule', 'egress', 'forward-path']);
  });

  it('check without --vpc-cidr and without instance metadata fails fast, saying what to pass', async () => {
    const started = Date.now();
    const result = await agentCli(['check', '--probe-namespace', topology.probe, '--probe-target', `${SERVER_IP}:${SERVER_PORT}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('instance metadata unreachable');
    expect(result.stderr).toContain('pass the values as flags');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('exits 2 with a message on a bad flag', async () => {
    const result = await agentCli(['check', '--probe-target', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--probe-target "nope" must be HOST:PORT');
  });

  it('run survives an unreachable intake, keeps probing, starts its peer witness, and stops on SIGINT', async () => {
    const lonely = topology.spawnIn(topology.nat, [process.execPath, bundle, 'run', ...commonFlags, '--heartbeat-period', '1'], {
      ...process.env,
      NATBEAT_INSTANCE_ID: INSTANCE,
      NATBEAT_AVAILABILITY_ZONE: ZONE,
      NATBEAT_GROUP_NAME: GROUP,
      NATBEAT_PEER_ADDRESS: NAT_PRIVATE_IP,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9', // nothing listens: every body fails
      NATBEAT_REPORT_URL: REPORT_URL,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    let log = '';
    lonely.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect(lonely.exitCode).toBeNull();
    expect(log.match(/(ok|failing) heartbeat not sent after \d attempt\(s\).*carrying on/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    // The peer witness started with run, on the configured address only.
    expect(log).toContain(`peer witness listening on ${NAT_PRIVATE_IP}:4799/udp`);
    lonely.kill('SIGINT');
    expect(await waitForExit(lonely, 5_000)).toBe(0);
    expect(log).toContain('SIGINT received, stopping');
  });

  describe.skipIf(motoReason !== undefined)('run: heartbeats in CloudWatch (moto)', () => {
    beforeAll(async () => {
      agent = topology.spawnIn(topology.nat, [process.execPath, bundle, 'run', ...commonFlags, '--heartbeat-period', '1'], {
        ...process.env,
        NATBEAT_INSTANCE_ID: INSTANCE,
        NATBEAT_AVAILABILITY_ZONE: ZONE,
        NATBEAT_GROUP_NAME: GROUP,
        NATBEAT_PEER_ADDRESS: NAT_PRIVATE_IP,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: `http://127.0.0.1:${BRIDGE_PORT}`,
        AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${LAMBDA_BRIDGE_PORT}/`,
        NATBEAT_REPORT_URL: REPORT_URL,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      });
      agent.stdout?.on('data', (chunk: Buffer) => (agentLog += chunk.toString()));
      agent.stderr?.on('data', (chunk: Buffer) => (agentLog += chunk.toString()));
    });

    it('sends signed healthy heartbeats to the intake, naming no instance of its own', async () => {
      await waitFor('a healthy heartbeat', async () => ((await heartbeats(testStart)).some((b) => b.max === 1) ? true : undefined));
      expect(intake!.refused).toEqual([]);
      const first = intake!.reports.find((r) => (r.body as { status?: string }).status === 'ok')!;
      expect(first.body).toMatchObject({ status: 'ok', unreachablePeers: [] });
      expect(JSON.stringify(first.body)).not.toContain(INSTANCE);
    });

    const faults: Fault[] = [
      {
        name: 'forwarding turned off',
        mustFail: ['forwarding', 'forward-path'],
        mustPass: ['nat-rule', 'egress'],
        inject: () => topology.in(topology.nat, ['sh', '-c', 'echo 0 > /proc/sys/net/ipv4/ip_forward']),
        repair: () => topology.in(topology.nat, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']),
      },
      {
        name: 'masquerade rule deleted',
        mustFail: ['nat-rule', 'forward-path'],
        mustPass: ['forwarding', 'egress'],
        inject: () => topology.in(topology.nat, ['nft', 'flush', 'chain', 'ip', 'natbeat', 'postrouting']),
        repair: () => agentCli(['setup', ...commonFlags]),
      },
      {
        name: 'a FORWARD drop policy in another table',
        mustFail: ['forward-path'],
        mustPass: ['forwarding', 'nat-rule', 'egress'],
        inject: () =>
          topology.in(topology.nat, ['nft', '-f', '-'], {
            input: 'table inet nbt_fault {\n  chain forward {\n    type filter hook forward priority 0; policy drop;\n  }\n}\n',
          }),
        repair: () => topology.in(topology.nat, ['nft', 'delete', 'table', 'inet', 'nbt_fault']),
      },
      ...vpcKeyedFaults,
      {
        name: 'egress link down',
        mustFail: ['egress', 'forward-path'],
        mustPass: ['forwarding'],
        inject: () => topology.in(topology.nat, ['ip', 'link', 'set', EGRESS_INTERFACE, 'down']),
        repair: async () => {
          await topology.in(topology.nat, ['ip', 'link', 'set', EGRESS_INTERFACE, 'up']);
          await topology.in(topology.nat, ['ip', 'route', 'replace', 'default', 'via', INTERNET_GATEWAY_IP]);
        },
      },
      {
        name: 'internet server gone',
        mustFail: ['forward-path'],
        mustPass: ['forwarding', 'nat-rule', 'egress'],
        inject: async () => {
          server?.kill('SIGKILL');
          if (server) await waitForExit(server, 3000);
        },
        repair: async () => {
          server = await topology.startServer();
        },
      },
    ];

    for (const fault of faults) {
      it(`${fault.name}: check names ${fault.mustFail.join(' + ')}, run stops heartbeating and publishes 0, both recover`, async () => {
        await waitFor('a healthy heartbeat before the fault', async () => ((await heartbeats(new Date(Date.now() - 1500))).some((b) => b.max === 1) ? true : undefined));
        const injectedAt = Date.now();
        const reportsBefore = intake!.reports.length;
        await fault.inject();
        try {
          const failed = await check();
          expect(failed.code).toBe(1);
          expect(failed.healthy).toBe(false);
          expect(failed.failing).toEqual(expect.arrayContaining(fault.mustFail));
          for (const name of fault.mustPass) expect(failed.failing).not.toContain(name);
          if (fault.cutsPrivateEgress) expect(await privateHostSeenAs()).toBeUndefined();

          // Signed with the agent's credentials (the intake refuses anything else), naming no instance.
          const report = await waitFor('a signed failing heartbeat', async () =>
            intake!.reports.slice(reportsBefore).find((r) => (r.body as { status?: string }).status === 'failing'),
          );
          expect(intake!.refused).toEqual([]);
          const body = readReportBody({ body: JSON.stringify(report.body) });
          expect(body).toMatchObject({ ok: true });
          const failedProbes = body.ok ? body.failedProbes : [];
          expect(JSON.stringify(report.body)).not.toContain(INSTANCE);
          expect(fault.mustFail.some((name) => failedProbes.includes(name))).toBe(true);
          for (const name of fault.mustPass) expect(failedProbes).not.toContain(name);
          // Let two more intervals pass: any healthy beat after fault + 2 intervals would be a miss.
          await new Promise((resolve) => setTimeout(resolve, 2 * INTERVAL_S * 1000));
          const lastHealthy = Math.max(0, ...(await heartbeats(new Date(injectedAt - 1000))).filter((b) => b.max === 1).map((b) => b.at));
          expect(lastHealthy).toBeLessThanOrEqual(injectedAt + 2 * INTERVAL_S * 1000);
        } finally {
          await fault.repair(); // also on failure, so one fault cannot spill into the next test
        }
        const repairedAt = Date.now();
        const recovered = await check();
        expect(recovered).toMatchObject({ code: 0, healthy: true, failing: [] });
        if (fault.cutsPrivateEgress) expect(await privateHostSeenAs()).toBe(NAT_PUBLIC_IP);
        await waitFor('a healthy heartbeat after repair', async () =>
          (await heartbeats(new Date(repairedAt))).some((b) => b.max === 1 && b.at >= Math.floor(repairedAt / 1000) * 1000) ? true : undefined,
        );
        expect(agentLog).toContain('routing unhealthy');
        // Every body of the episode said failing; none was refused.
        expect(intake!.refused).toEqual([]);
      });
    }

    it('stops cleanly on SIGTERM', async () => {
      expect(agent?.exitCode).toBeNull();
      agent?.kill('SIGTERM');
      expect(await waitForExit(agent!, 5000)).toBe(0);
      expect(agentLog).toContain('SIGTERM received, stopping');
    });
  });
});
