/**
 * The probes as the agent runs them: against a stand-in host (commands and files), asserting the
 * verdict (ok) as well as the reason, and what each probe asks the host for.
 */
import { describe, expect, it } from 'vitest';
import { parseCidr, type Ipv4Cidr } from '../../agent/cidr';
import type { ExecOptions } from '../../agent/exec';
import { egressInterface } from '../../agent/probes/egress-interface';
import { assessEgress, egressProbe } from '../../agent/probes/egress';
import { cachedIpv4Resolver, forwardPathProbe } from '../../agent/probes/forward-path';
import { assessIpForward, forwardingProbe } from '../../agent/probes/forwarding';
import { natRuleProbe } from '../../agent/probes/nat-rule';
import type { Connector } from '../../agent/probes/connect-helper';
import { SYSCTL_IP_FORWARD } from '../../agent/system';

const link = (ifname: string, flags: string[], addresses: string[] = []) => ({
  ifname,
  flags,
  addr_info: addresses.map((a) => ({ family: 'inet', local: a.split('/')[0], prefixlen: Number(a.split('/')[1]) })),
});
const UP = ['BROADCAST', 'UP', 'LOWER_UP'];
const defaultVia = (dev: string) => ({ dst: 'default', gateway: '10.0.0.1', dev });

/** A host answering `ip -j addr show`, `ip -j -4 route show default` and `nft -j list ruleset`. */
function host(state: { links?: unknown[]; routes?: unknown[]; ruleset?: unknown }) {
  const calls: { command: string; signal?: AbortSignal }[] = [];
  const exec = async (file: string, args: readonly string[], options?: ExecOptions) => {
    const command = [file, ...args].join(' ');
    calls.push({ command, signal: options?.signal });
    if (command === 'ip -j addr show') return { stdout: JSON.stringify(state.links ?? []), stderr: '' };
    if (command === 'ip -j -4 route show default') return { stdout: JSON.stringify(state.routes ?? []), stderr: '' };
    if (command === 'nft -j list ruleset') return { stdout: JSON.stringify(state.ruleset ?? { nftables: [] }), stderr: '' };
    throw new Error(`unexpected command ${command}`);
  };
  return { exec, calls };
}

describe('Probe: egress', () => {
  const links = [link('lo', ['LOOPBACK', 'UP', 'LOWER_UP'], ['127.0.0.1/8']), link('ens5', UP, ['10.0.1.10/24', '10.0.1.11/24'])];

  it.each([
    { name: 'up, addressed, carrying the default route', links, routes: [defaultVia('ens5')], ok: true, detail: 'ens5 up, 10.0.1.10/24, 10.0.1.11/24, default route' },
    { name: 'missing', links: [], routes: [defaultVia('ens5')], ok: false, detail: 'interface ens5 does not exist' },
    { name: 'down', links: [link('ens5', ['BROADCAST'], ['10.0.1.10/24'])], routes: [defaultVia('ens5')], ok: false, detail: 'interface ens5 is administratively down' },
    { name: 'without carrier', links: [link('ens5', ['BROADCAST', 'UP'], ['10.0.1.10/24'])], routes: [defaultVia('ens5')], ok: false, detail: 'interface ens5 has no carrier (LOWER_UP missing)' },
    { name: 'without an IPv4 address', links: [link('ens5', UP)], routes: [defaultVia('ens5')], ok: false, detail: 'interface ens5 has no IPv4 address' },
    { name: 'with the default route elsewhere', links, routes: [defaultVia('ens6'), defaultVia('ens7')], ok: false, detail: 'no IPv4 default route via ens5 (it goes via ens6, ens7)' },
    { name: 'with no default route at all', links, routes: [], ok: false, detail: 'no IPv4 default route via ens5 (there is none)' },
    { name: 'one of two default routes', links, routes: [defaultVia('ens6'), defaultVia('ens5')], ok: true, detail: 'ens5 up, 10.0.1.10/24, 10.0.1.11/24, default route' },
  ])('$name: ok = $ok', async ({ links, routes, ok, detail }) => {
    expect(assessEgress(links, routes, 'ens5')).toEqual({ ok, detail });
    const { exec, calls } = host({ links, routes });
    const signal = new AbortController().signal;
    expect(await egressProbe({ exec }, egressInterface({ exec }, 'ens5')).run(signal)).toEqual({ ok, detail });
    expect(calls.map((c) => c.command).sort()).toEqual(['ip -j -4 route show default', 'ip -j addr show']);
    expect(calls.every((c) => c.signal === signal)).toBe(true);
  });

  it('fails without looking further while there is neither a configured interface nor a default route', async () => {
    const { exec, calls } = host({ links, routes: [] });
    const probe = egressProbe({ exec }, egressInterface({ exec }, undefined));
    expect(probe.name).toBe('egress');
    expect(await probe.run(new AbortController().signal)).toEqual({ ok: false, detail: 'no IPv4 default route, so no egress interface (pass --egress-interface)' });
    expect(calls.map((c) => c.command)).toEqual(['ip -j -4 route show default']);
  });
});

describe('Function: egressInterface', () => {
  it('answers a configured name without asking the host', async () => {
    const { exec, calls } = host({ routes: [defaultVia('ens5')] });
    expect(await egressInterface({ exec }, 'eth9').name()).toBe('eth9');
    expect(calls).toEqual([]);
  });

  it('takes the device of the first default route, and remembers it after the route is gone', async () => {
    const state = { routes: [defaultVia('ens6'), defaultVia('ens5')] };
    const { exec, calls } = host(state);
    const egress = egressInterface({ exec }, undefined);
    const signal = new AbortController().signal;
    expect(await egress.name(signal)).toBe('ens6');
    expect(calls).toEqual([{ command: 'ip -j -4 route show default', signal }]);
    state.routes = [];
    expect(await egress.name()).toBe('ens6');
    expect(calls).toHaveLength(1);
  });

  it('looks again on every call while there is no default route', async () => {
    const state: { routes: unknown[] } = { routes: [] };
    const { exec, calls } = host(state);
    const egress = egressInterface({ exec }, undefined);
    expect(await egress.name()).toBeUndefined();
    expect(await egress.name()).toBeUndefined();
    state.routes = [defaultVia('ens5')];
    expect(await egress.name()).toBe('ens5');
    expect(calls).toHaveLength(3);
  });
});

describe('Probe: forwarding', () => {
  it.each([
    { text: '1\n', ok: true, detail: 'net.ipv4.ip_forward = 1' },
    { text: '0\n', ok: false, detail: 'net.ipv4.ip_forward = 0: the kernel does not forward IPv4' },
    { text: ' 2 ', ok: false, detail: 'net.ipv4.ip_forward has an unexpected value "2"' },
  ])('reads $text from the sysctl: ok = $ok', async ({ text, ok, detail }) => {
    expect(assessIpForward(text)).toEqual({ ok, detail });
    const read: string[] = [];
    const probe = forwardingProbe({ readFile: async (path) => (read.push(path), text) });
    expect(probe.name).toBe('forwarding');
    expect(await probe.run(new AbortController().signal)).toEqual({ ok, detail });
    expect(read).toEqual([SYSCTL_IP_FORWARD]);
  });
});

describe('Probe: nat-rule', () => {
  const vpc = [parseCidr('10.0.0.0/16') as Ipv4Cidr];
  const ruleset = {
    nftables: [
      { chain: { family: 'ip', table: 'natbeat', name: 'postrouting', type: 'nat', hook: 'postrouting', prio: 100, policy: 'accept' } },
      {
        rule: {
          family: 'ip',
          table: 'natbeat',
          chain: 'postrouting',
          expr: [
            { match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'ens5' } },
            { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { prefix: { addr: '10.0.0.0', len: 16 } } } },
            { masquerade: null },
          ],
        },
      },
    ],
  };

  it('checks the rule against the egress interface it learned, with the probe’s signal', async () => {
    const { exec, calls } = host({ ruleset, routes: [defaultVia('ens5')] });
    const signal = new AbortController().signal;
    const probe = natRuleProbe({ exec }, egressInterface({ exec }, undefined), vpc);
    expect(probe.name).toBe('nat-rule');
    expect(await probe.run(signal)).toEqual({ ok: true, detail: '10.0.0.0/16 masqueraded out of ens5 (ip natbeat)' });
    expect(calls).toEqual([
      { command: 'ip -j -4 route show default', signal },
      { command: 'nft -j list ruleset', signal },
    ]);
  });

  it('fails when the rule leaves by another interface', async () => {
    const { exec } = host({ ruleset });
    expect(await natRuleProbe({ exec }, egressInterface({ exec }, 'ens6'), vpc).run(new AbortController().signal)).toEqual({
      ok: false,
      detail: 'no masquerade/SNAT rule out of ens6 for 10.0.0.0/16',
    });
  });

  it('fails without reading the ruleset while the egress interface is unknown', async () => {
    const { exec, calls } = host({ ruleset, routes: [] });
    expect(await natRuleProbe({ exec }, egressInterface({ exec }, undefined), vpc).run(new AbortController().signal)).toEqual({
      ok: false,
      detail: 'egress interface unknown (no default route); cannot check the rule',
    });
    expect(calls.map((c) => c.command)).toEqual(['ip -j -4 route show default']);
  });
});

describe('Function: cachedIpv4Resolver', () => {
  function resolver() {
    const asked: string[] = [];
    let now = 0;
    let answer: string | Error = '198.51.100.7';
    const resolve = cachedIpv4Resolver(
      async (host) => {
        asked.push(host);
        if (answer instanceof Error) throw answer;
        return answer;
      },
      () => now,
    );
    return { resolve, asked, at: (ms: number) => (now = ms), answer: (a: string | Error) => (answer = a) };
  }

  it('passes an IPv4 address through without asking DNS', async () => {
    const r = resolver();
    expect(await r.resolve('192.0.2.9')).toBe('192.0.2.9');
    expect(await r.resolve('198.51.100.17')).toBe('198.51.100.17');
    expect(r.asked).toEqual([]);
  });

  it('asks DNS for anything that is not a dotted quad', async () => {
    const r = resolver();
    const names = ['1.2.3.example', 'x192.0.2.9', '192.0.2.9.example', '192.0.2.9x'];
    for (const name of names) expect(await r.resolve(name)).toBe('198.51.100.7');
    expect(r.asked).toEqual(names);
  });

  it('asks the system resolver for an IPv4 answer by default', async () => {
    expect(await cachedIpv4Resolver()('localhost')).toMatch(/^127\.\d+\.\d+\.\d+$/);
  });

  it('keeps an answer for 60 s, then asks again and keeps the new one', async () => {
    const r = resolver();
    r.at(1_000);
    expect(await r.resolve('probe.example')).toBe('198.51.100.7');
    r.answer('198.51.100.8');
    r.at(60_999);
    expect(await r.resolve('probe.example')).toBe('198.51.100.7');
    expect(r.asked).toHaveLength(1);
    r.at(61_000);
    expect(await r.resolve('probe.example')).toBe('198.51.100.8');
    expect(r.asked).toHaveLength(2);
    r.answer('198.51.100.9');
    r.at(120_999);
    expect(await r.resolve('probe.example')).toBe('198.51.100.8');
    expect(r.asked).toHaveLength(2);
  });

  it('keeps a stale answer while DNS fails, per name', async () => {
    const r = resolver();
    expect(await r.resolve('probe.example')).toBe('198.51.100.7');
    r.answer(new Error('SERVFAIL'));
    r.at(120_000);
    expect(await r.resolve('probe.example')).toBe('198.51.100.7');
    await expect(r.resolve('other.example')).rejects.toThrow('SERVFAIL');
    r.answer('198.51.100.8');
    expect(await r.resolve('probe.example')).toBe('198.51.100.8');
  });
});

describe('Probe: forward-path (signals)', () => {
  it('aborts every attempt when the probe’s own signal aborts, and stops listening once done', async () => {
    const attempts: AbortSignal[] = [];
    const connector: Connector = {
      connect: (_host, _port, signal) =>
        new Promise((resolve) => {
          attempts.push(signal);
          signal.addEventListener('abort', () => resolve({ ok: false, detail: 'timed out' }));
        }),
      close: () => undefined,
    };
    const probeSignal = new AbortController();
    const listeners: string[] = [];
    const signal = probeSignal.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = (...args: Parameters<AbortSignal['addEventListener']>) => {
      listeners.push(`add ${args[0]}`);
      add(...args);
    };
    signal.removeEventListener = (...args: Parameters<AbortSignal['removeEventListener']>) => {
      listeners.push(`remove ${args[0]}`);
      remove(...args);
    };
    const probe = forwardPathProbe(connector, [{ host: '192.0.2.1', port: 443 }, { host: '192.0.2.2', port: 80 }], cachedIpv4Resolver());
    expect(probe.name).toBe('forward-path');
    const outcome = probe.run(signal);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(attempts).toHaveLength(2);
    expect(attempts.some((s) => s.aborted)).toBe(false);
    probeSignal.abort();
    expect(await outcome).toEqual({ ok: false, detail: 'no target reachable through the forward path: 192.0.2.1:443 timed out; 192.0.2.2:80 timed out' });
    expect(attempts.every((s) => s.aborted)).toBe(true);
    expect(listeners).toEqual(['add abort', 'remove abort']);
  });

  it('names the address a name resolved to', async () => {
    const connector: Connector = { connect: async () => ({ ok: true, detail: 'connected' }), close: () => undefined };
    const outcome = await forwardPathProbe(connector, [{ host: 'probe.example', port: 443 }], cachedIpv4Resolver(async () => '198.51.100.7')).run(new AbortController().signal);
    expect(outcome).toEqual({ ok: true, detail: 'connected to probe.example:443 (198.51.100.7) through the forward path' });
  });
});
