/**
 * The agent's systemd unit as it ships: the sandbox directives, `systemd-analyze verify` and its
 * offline exposure score where systemd-analyze exists, and — as root — that the capability set the
 * unit keeps is enough to run the probe namespace (and that one less is not).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentSources, AGENT_UNIT_FILE } from '../../infra/lib/agent-asset';
import { NATBEAT_SOURCE_ROOT } from '../../infra/lib/settings';
import { DEFAULT_PEER_PORT } from '../../common/intake-contract';
import { netnsUnavailableReason } from './helpers/topology';

const unitText = readFileSync(agentSources(NATBEAT_SOURCE_ROOT).unit, 'utf8');

/** `[Section]` → directive → every value it is given, in order (systemd directives may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const at = line.indexOf('=');
    if (!current || at < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, at);
    current.set(key, [...(current.get(key) ?? []), line.slice(at + 1)]);
  }
  return sections;
}

const service = parseUnit(unitText).get('Service')!;
const one = (key: string) => {
  const values = service.get(key) ?? [];
  expect({ [key]: values.length }).toEqual({ [key]: 1 });
  return values[0]!;
};
const words = (value: string) => value.split(/\s+/).filter(Boolean).sort();

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
const analyzeReason = analyze ? undefined : 'systemd-analyze is not installed';
const verifyReason = analyzeReason ?? (existsSync('/usr/bin/node') ? undefined : 'the unit runs /usr/bin/node, which this machine does not have');
if (analyzeReason) console.warn(`systemd unit checks skipped: ${analyzeReason}`);
else if (verifyReason) console.warn(`systemd-analyze verify skipped: ${verifyReason}`);

describe('natbeat-agent.service', () => {
  it('runs the long-lived agent with two capabilities, no new privileges and a read-only system', () => {
    expect(words(one('CapabilityBoundingSet'))).toEqual(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']);
    // Root already holds its bounding set: nothing needs to be passed as ambient capabilities.
    expect(service.has('AmbientCapabilities')).toBe(false);
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ProtectSystem')).toBe('strict');
    // Writable: /run/netns, for re-creating a lost probe namespace, and the one sysctl a handover switches.
    expect(service.get('ReadWritePaths')).toEqual(['-/run/netns -/proc/sys/net/netfilter/nf_conntrack_tcp_loose']);
    for (const key of ['ProtectHome', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'RestrictSUIDSGID', 'LockPersonality']) {
      expect({ [key]: one(key) }).toEqual({ [key]: 'yes' });
    }
    expect(words(one('RestrictAddressFamilies'))).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
    expect(words(one('RestrictNamespaces'))).toEqual(['mnt', 'net']);
    expect(service.get('SystemCallFilter')).toEqual(['@system-service @mount', '~@privileged']);
    expect(one('SystemCallErrorNumber')).toBe('EPERM');
  });

  it('runs only `setup` outside the sandbox ("+"), and `run` inside it', () => {
    expect(service.get('ExecStartPre')).toEqual(['+/usr/bin/node /opt/natbeat/natbeat-agent.mjs setup']);
    expect(service.get('ExecStart')).toEqual(['/usr/bin/node /opt/natbeat/natbeat-agent.mjs run']);
  });

  describe.skipIf(verifyReason !== undefined)('systemd-analyze', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'natbeat-unit-'));
    const file = path.join(dir, AGENT_UNIT_FILE);
    writeFileSync(file, unitText);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('verifies the unit without a warning', () => {
      const result = spawnSync(analyze!, ['verify', file], { encoding: 'utf8' });
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
      expect(result.status).toBe(0);
    });

    it('rates its exposure "OK" (3.0 or less of 10)', () => {
      const result = spawnSync(analyze!, ['security', '--offline=yes', file], { encoding: 'utf8' });
      const score = /Overall exposure level for \S+: ([\d.]+)/.exec(result.stdout)?.[1];
      expect(result.stdout + result.stderr).toMatch(/Overall exposure level/);
      expect(Number(score)).toBeLessThanOrEqual(3);
    });
  });
});

const netnsReason = netnsUnavailableReason() ?? (existsSync('/usr/bin/setpriv') ? undefined : 'setpriv is not installed');
if (netnsReason) console.warn(`systemd sandbox emulation skipped: ${netnsReason}`);

/**
 * Without systemd as PID 1 the unit cannot be started here, so its two load-bearing restrictions
 * are applied by hand: the bounding set (setpriv, which also sets no_new_privs) in a mount
 * namespace whose root, /sys and /proc/sys are read-only. The network namespaces are this test's own.
 */
describe.skipIf(netnsReason !== undefined)('natbeat-agent.service sandbox on a real kernel', () => {
  const ns = `nb-unit-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const spare = `${ns}-x`;
  afterAll(() => {
    for (const name of [ns, spare]) spawnSync('ip', ['netns', 'del', name]);
  });

  function sandboxed(capabilities: string[], command: string): { status: number | null; output: string } {
    const bounding = ['-all', ...capabilities.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
    const script = [
      'set -e',
      'mount --make-rslave /',
      'mount -o remount,bind,ro /',
      'mount -o remount,bind,ro /sys',
      'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys',
      `exec setpriv --no-new-privs --bounding-set=${bounding} --inh-caps=-all sh -c '${command}'`,
    ].join('\n');
    const result = spawnSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', timeout: 20_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it("lets `run` enter the probe namespace and re-create it with the unit's two capabilities, and not with one less", () => {
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    const kept = words(one('CapabilityBoundingSet'));
    const enter = `ip netns exec ${ns} bash --norc --noprofile -c "ip -br link show lo"`;
    const recreate = `ip netns add ${spare} && ip netns exec ${spare} true && ip netns del ${spare}`;

    const inside = sandboxed(kept, `${enter} && ${recreate} && echo sandbox-ok`);
    expect(inside.output).toContain('sandbox-ok');
    expect(inside.status).toBe(0);

    const withoutSysAdmin = sandboxed(kept.filter((c) => c !== 'CAP_SYS_ADMIN'), enter);
    expect(withoutSysAdmin.status).not.toBe(0);
  });

  it('lets `run` bind the peer responder’s UDP port with those capabilities: above 1023, so no CAP_NET_BIND_SERVICE', () => {
    expect(DEFAULT_PEER_PORT).toBeGreaterThan(1023);
    expect(words(one('RestrictAddressFamilies'))).toContain('AF_INET');
    const dir = mkdtempSync(path.join(tmpdir(), 'natbeat-unit-udp-'));
    const probe = path.join(dir, 'bind.mjs');
    writeFileSync(probe, "import { createSocket } from 'node:dgram';\nconst s = createSocket('udp4');\ns.on('error', (e) => { console.log('bind-failed', e.code); process.exit(1); });\ns.bind(Number(process.argv[2]), '127.0.0.1', () => { console.log('bound'); s.close(); });\n");
    try {
      spawnSync('ip', ['netns', 'add', ns]); // made by the test above unless run alone
      expect(spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']).status).toBe(0);
      const kept = words(one('CapabilityBoundingSet'));
      const peerPort = sandboxed(kept, `ip netns exec ${ns} ${process.execPath} ${probe} ${DEFAULT_PEER_PORT}`);
      expect(peerPort.output).toContain('bound');
      expect(peerPort.status).toBe(0);
      // The same sandbox cannot bind a privileged port: the check above is the sandbox's, not a formality.
      const privileged = sandboxed(kept, `ip netns exec ${ns} ${process.execPath} ${probe} 479`);
      expect(privileged.output).toContain('bind-failed EACCES');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
