/**
 * The probe namespace on a real kernel: setup's code runs in this process (so mutation runs see it)
 * with every command entering a throw-away "host" namespace; the probe namespace and the veth pair
 * are real. Each case breaks one thing with ip and checks setup repairs exactly that.
 * Needs root, ip and nsenter; NATBEAT_REQUIRE_NETNS=1 turns the skip into a failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCidr, type Ipv4Cidr } from '../../agent/cidr';
import { execCommand, type Exec } from '../../agent/exec';
import { linkStatus, parseIpJson } from '../../agent/ip-json';
import { ensureProbeNamespace } from '../../agent/setup';
import { realSystem, type System } from '../../agent/system';
import { netnsUnavailableReason, sh } from './helpers/topology';

const reason = netnsUnavailableReason();
if (reason) console.warn(`real-kernel setup tests skipped: ${reason}`);

describe.runIf(process.env.NATBEAT_REQUIRE_NETNS === '1')('Real-kernel prerequisites for setup (NATBEAT_REQUIRE_NETNS=1)', () => {
  it('has root, ip, nft and nsenter', () => {
    expect(reason).toBeUndefined();
  });
});

describe.skipIf(reason !== undefined)('Function: ensureProbeNamespace on a real kernel', () => {
  const id = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const hostNs = `nbt-shost-${id}`;
  const probeNs = `nbt-sprobe-${id}`;
  const elsewhere = `nbt-sother-${id}`;
  const plan = { probeNamespace: probeNs, probeCidr: parseCidr('169.254.100.0/30') as Ipv4Cidr, probeSource: '10.0.0.3' };
  // Every command of setup runs inside hostNs (nsenter keeps the host's mounts, so `ip netns add` lasts).
  const exec: Exec = (file, args, options) => execCommand('nsenter', [`--net=/run/netns/${hostNs}`, '--', file, ...args], options);
  const system: System = { ...realSystem, exec };
  const inHost = (args: string[]) => sh(['ip', '-n', hostNs, ...args]);
  const inProbe = (args: string[]) => sh(['ip', '-n', probeNs, ...args]);

  async function ensure(): Promise<string[]> {
    const changes: string[] = [];
    await ensureProbeNamespace(system, plan, changes);
    return changes;
  }

  /** What the probe link looks like from both ends, and the probe namespace's routes. */
  async function observed() {
    const hostLinks = parseIpJson(await inHost(['-j', 'addr', 'show']));
    const probeLinks = parseIpJson(await inProbe(['-j', 'addr', 'show']));
    const routes = parseIpJson(await inProbe(['-j', '-4', 'route', 'show', 'default'])) as Record<string, unknown>[];
    const hostRoutes = parseIpJson(await inHost(['-j', '-4', 'route', 'show', 'dev', 'natbeat-host'])) as Record<string, unknown>[];
    const host = linkStatus(hostLinks, 'natbeat-host');
    const probe = linkStatus(probeLinks, 'natbeat-probe');
    return {
      host: { exists: host.exists, up: host.up, addresses: host.ipv4Addresses },
      probe: { exists: probe.exists, up: probe.up, addresses: [...probe.ipv4Addresses].sort() },
      lo: linkStatus(probeLinks, 'lo').up,
      routes: routes.map((r) => `${String(r.dst)} via ${String(r.gateway)} dev ${String(r.dev)} src ${String(r.prefsrc)}`),
      hostRoutes: hostRoutes.map((r) => `${String(r.dst)} via ${String(r.gateway)}`).sort(),
    };
  }
  const HEALTHY = {
    host: { exists: true, up: true, addresses: ['169.254.100.1/30'] },
    probe: { exists: true, up: true, addresses: ['10.0.0.3/32', '169.254.100.2/30'] },
    lo: true,
    routes: ['default via 169.254.100.1 dev natbeat-probe src 10.0.0.3'],
    hostRoutes: ['10.0.0.3 via 169.254.100.2', '169.254.100.0/30 via undefined'],
  };
  const SOURCE_ROUTE = `${probeNs} default route via 169.254.100.1 from 10.0.0.3`;
  const HOST_ROUTE = 'route 10.0.0.3/32 via 169.254.100.2 into the probe namespace';

  beforeAll(async () => {
    await sh(['ip', 'netns', 'add', hostNs]);
    await sh(['ip', 'netns', 'add', elsewhere]);
  });
  afterAll(async () => {
    for (const ns of [probeNs, hostNs, elsewhere]) await sh(['ip', 'netns', 'del', ns]).catch(() => undefined);
  });

  it('builds the namespace, the pair and the route, then changes nothing on a second run', async () => {
    expect(await ensure()).toEqual([
      `network namespace ${probeNs} created`,
      `veth natbeat-host ↔ ${probeNs}/natbeat-probe created`,
      'natbeat-host address 169.254.100.1/30',
      'natbeat-host up',
      `${probeNs}/natbeat-probe address 169.254.100.2/30`,
      `${probeNs}/natbeat-probe address 10.0.0.3/32`,
      `${probeNs}/natbeat-probe up`,
      `${probeNs}/lo up`,
      SOURCE_ROUTE,
      HOST_ROUTE,
    ]);
    expect(await observed()).toEqual(HEALTHY);
    expect(await ensure()).toEqual([]);
    // Traffic from the probe namespace leaves by the pair, towards the host end, from the probe's VPC source.
    expect(await inProbe(['route', 'get', '192.0.2.1'])).toMatch(/^192\.0\.2\.1 via 169\.254\.100\.1 dev natbeat-probe src 10\.0\.0\.3 /);
    // And the host sends what is addressed to that source back into the namespace.
    expect(await inHost(['route', 'get', '10.0.0.3'])).toMatch(/^10\.0\.0\.3 via 169\.254\.100\.2 dev natbeat-host /);
  });

  it('refuses to go on when the host itself holds the probe source', async () => {
    // (This kernel has no dummy devices: the host namespace's loopback stands in.)
    await inHost(['addr', 'add', '10.0.0.3/24', 'dev', 'lo']);
    try {
      await expect(ensure()).rejects.toThrow("10.0.0.3, the probe's source (network+3 of this NAT's subnet, which AWS reserves and never assigns), is assigned to lo on this host");
    } finally {
      await inHost(['addr', 'del', '10.0.0.3/24', 'dev', 'lo']);
    }
    expect(await ensure()).toEqual([]);
  });

  it.each([
    {
      name: 'half a pair (the probe end moved away): the pair is rebuilt',
      breakIt: () => inProbe(['link', 'set', 'natbeat-probe', 'netns', elsewhere]),
      changes: [
        'stale natbeat-host deleted',
        `veth natbeat-host ↔ ${probeNs}/natbeat-probe created`,
        'natbeat-host address 169.254.100.1/30',
        'natbeat-host up',
        `${probeNs}/natbeat-probe address 169.254.100.2/30`,
        `${probeNs}/natbeat-probe address 10.0.0.3/32`,
        `${probeNs}/natbeat-probe up`,
        SOURCE_ROUTE,
        HOST_ROUTE,
      ],
    },
    {
      name: 'a wrong address on the host end',
      breakIt: async () => {
        await inHost(['addr', 'flush', 'dev', 'natbeat-host']);
        await inHost(['addr', 'add', '169.254.100.9/30', 'dev', 'natbeat-host']);
      },
      // The host end's routes went with its address (the /32 too); the namespace's default route stays.
      changes: ['addresses of natbeat-host flushed', 'natbeat-host address 169.254.100.1/30', HOST_ROUTE],
    },
    {
      name: 'a wrong address on the probe end (its default route goes with it)',
      breakIt: async () => {
        await inProbe(['addr', 'flush', 'dev', 'natbeat-probe']);
        await inProbe(['addr', 'add', '169.254.100.6/30', 'dev', 'natbeat-probe']);
      },
      changes: [
        `addresses of ${probeNs}/natbeat-probe flushed`,
        `${probeNs}/natbeat-probe address 169.254.100.2/30`,
        `${probeNs}/natbeat-probe address 10.0.0.3/32`,
        SOURCE_ROUTE,
      ],
    },
    {
      name: 'the link-local layout of earlier versions (no probe source, no route back)',
      breakIt: async () => {
        await inHost(['route', 'del', '10.0.0.3/32']);
        await inProbe(['addr', 'del', '10.0.0.3/32', 'dev', 'natbeat-probe']);
        await inProbe(['route', 'replace', 'default', 'via', '169.254.100.1', 'dev', 'natbeat-probe']);
      },
      changes: [`${probeNs}/natbeat-probe address 10.0.0.3/32`, SOURCE_ROUTE, HOST_ROUTE],
    },
    {
      name: 'a stale route into the namespace for another address',
      breakIt: () => inHost(['route', 'add', '10.9.0.3/32', 'via', '169.254.100.2', 'dev', 'natbeat-host']),
      changes: ['stale route 10.9.0.3 into the probe namespace deleted'],
    },
    {
      name: 'a default route without the gateway',
      breakIt: () => inProbe(['route', 'replace', 'default', 'dev', 'natbeat-probe']),
      changes: [SOURCE_ROUTE],
    },
    {
      name: 'the namespace’s loopback down',
      breakIt: () => inProbe(['link', 'set', 'lo', 'down']),
      changes: [`${probeNs}/lo up`],
    },
  ])('repairs $name', async ({ breakIt, changes }) => {
    await breakIt();
    expect(await ensure()).toEqual(changes);
    expect(await observed()).toEqual(HEALTHY);
    expect(await ensure()).toEqual([]);
  });
});
