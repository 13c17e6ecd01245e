import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, runProbes } from '../../agent/probe-runner';
import { CONNECT_HELPER_SCRIPT, NamespaceConnector, type Connector } from '../../agent/probes/connect-helper';
import { cachedIpv4Resolver, forwardPathProbe } from '../../agent/probes/forward-path';
import type { Probe } from '../../agent/probes/types';

const probe = (name: string, run: Probe['run']): Probe => ({ name, run });

describe('Function: runProbes', () => {
  it('reports every probe, healthy only when all pass', async () => {
    const report = await runProbes(
      [probe('a', async () => ({ ok: true, detail: 'fine' })), probe('b', async () => ({ ok: false, detail: 'broken' }))],
      1_000,
    );
    expect(report.healthy).toBe(false);
    expect(report.probes.map(({ name, ok, detail }) => ({ name, ok, detail }))).toEqual([
      { name: 'a', ok: true, detail: 'fine' },
      { name: 'b', ok: false, detail: 'broken' },
    ]);
    expect(formatReport(report)).toContain('UNHEALTHY: b failed');
  });

  it('fails a probe that throws, with the error as detail', async () => {
    const report = await runProbes([probe('nft', async () => Promise.reject(new Error('nft: command not found')))], 1_000);
    expect(report.probes[0]).toMatchObject({ ok: false, detail: 'nft: command not found' });
  });

  it('fails a hanging probe at the timeout and aborts it', async () => {
    let aborted = false;
    const started = Date.now();
    const report = await runProbes(
      [
        probe('slow', (signal) => {
          signal.addEventListener('abort', () => (aborted = true));
          return new Promise(() => undefined);
        }),
      ],
      50,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(report.probes[0]).toMatchObject({ name: 'slow', ok: false, detail: 'timed out after 50 ms' });
    expect(aborted).toBe(true);
  });
});

function fakeConnector(results: Record<string, { ok: boolean; detail: string } | 'hang'>): Connector & { aborted: string[] } {
  const aborted: string[] = [];
  return {
    aborted,
    connect: (host, port, signal) => {
      const result = results[`${host}:${port}`] ?? { ok: false, detail: 'Connection refused' };
      if (result !== 'hang') return Promise.resolve(result);
      return new Promise((resolve) =>
        signal.addEventListener('abort', () => {
          aborted.push(`${host}:${port}`);
          resolve({ ok: false, detail: 'timed out' });
        }),
      );
    },
    close: () => undefined,
  };
}

describe('Probe: forward-path', () => {
  const ip = cachedIpv4Resolver();

  it('passes when any one target answers, and cancels the others', async () => {
    const connector = fakeConnector({ '192.0.2.1:443': 'hang', '192.0.2.2:443': { ok: true, detail: 'connected' } });
    const targets = [
      { host: '192.0.2.1', port: 443 },
      { host: '192.0.2.2', port: 443 },
    ];
    const outcome = await forwardPathProbe(connector, targets, ip).run(new AbortController().signal);
    expect(outcome).toEqual({ ok: true, detail: 'connected to 192.0.2.2:443 through the forward path' });
    expect(connector.aborted).toEqual(['192.0.2.1:443']);
  });

  it('fails naming every target and why', async () => {
    const connector = fakeConnector({ '192.0.2.1:80': { ok: false, detail: 'No route to host' } });
    const resolver = cachedIpv4Resolver(async () => Promise.reject(new Error('ENOTFOUND')));
    const outcome = await forwardPathProbe(
      connector,
      [
        { host: '192.0.2.1', port: 80 },
        { host: 'gone.example', port: 443 },
      ],
      resolver,
    ).run(new AbortController().signal);
    expect(outcome.ok).toBe(false);
    expect(outcome.detail).toContain('192.0.2.1:80 No route to host');
    expect(outcome.detail).toContain('gone.example:443 DNS: ENOTFOUND');
  });

  it('resolves names to IPv4 and keeps a stale answer when DNS fails', async () => {
    let now = 0;
    let answer: string | Error = '198.51.100.7';
    const resolver = cachedIpv4Resolver(
      async () => {
        if (answer instanceof Error) throw answer;
        return answer;
      },
      () => now,
    );
    expect(await resolver('probe.example')).toBe('198.51.100.7');
    answer = new Error('SERVFAIL');
    now = 120_000;
    expect(await resolver('probe.example')).toBe('198.51.100.7');
    await expect(resolver('other.example')).rejects.toThrow('SERVFAIL');
  });
});

describe('Class: NamespaceConnector (helper run without a namespace, on loopback)', () => {
  let server: Server;
  let openPort = 0;
  let closedPort = 0;

  beforeAll(async () => {
    server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    openPort = (server.address() as { port: number }).port;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('connects, reports refusals, and serves concurrent requests', async () => {
    const connector = new NamespaceConnector(['bash', '--norc', '--noprofile', '-c', CONNECT_HELPER_SCRIPT]);
    try {
      const signal = new AbortController().signal;
      const [open, closed, again] = await Promise.all([
        connector.connect('127.0.0.1', openPort, signal),
        connector.connect('127.0.0.1', closedPort, signal),
        connector.connect('127.0.0.1', openPort, signal),
      ]);
      expect(open).toEqual({ ok: true, detail: 'connected' });
      expect(closed).toEqual({ ok: false, detail: 'Connection refused' });
      expect(again.ok).toBe(true);
    } finally {
      connector.close();
    }
  });

  it('kills a timed-out attempt by the pid the helper reported', async () => {
    // Stand-in helper: announces a sleeping child as the attempt (and leaves its pid in a file), never answers.
    const dir = await mkdtemp(join(tmpdir(), 'natbeat-helper-'));
    const pidFile = join(dir, 'pid');
    const connector = new NamespaceConnector(['bash', '-c', `while read -r id h p; do sleep 30 & echo "$id pid $!"; echo $! > ${pidFile}; done`]);
    try {
      const timeout = new AbortController();
      const attempt = connector.connect('127.0.0.1', 1, timeout.signal);
      // Time out only once the attempt is announced: a loaded machine may take a while to start bash.
      let pid = NaN;
      while (!(pid > 0)) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
      }
      await new Promise((resolve) => setTimeout(resolve, 50)); // the pid line reaches the connector
      timeout.abort();
      expect(await attempt).toEqual({ ok: false, detail: 'timed out' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(() => process.kill(pid, 0)).toThrow(); // gone
    } finally {
      connector.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a helper that cannot start, then tries again on the next request', async () => {
    const connector = new NamespaceConnector(['bash', '-c', 'echo "Cannot open network namespace" >&2; exit 1']);
    const signal = new AbortController().signal;
    const first = await connector.connect('127.0.0.1', openPort, signal);
    expect(first.ok).toBe(false);
    expect(first.detail).toContain('probe helper exited (code 1)');
    expect((await connector.connect('127.0.0.1', openPort, signal)).detail).toContain('probe helper exited');
    connector.close();
  });

  it('refuses anything but an IPv4 address', async () => {
    const connector = new NamespaceConnector(['false']);
    expect(await connector.connect('$(reboot)', 80, new AbortController().signal)).toEqual({ ok: false, detail: 'not an IPv4 address: $(reboot)' });
  });
});

describe('Class: NamespaceConnector (protocol edge cases, stand-in helpers)', () => {
  const signal = () => new AbortController().signal;

  it('reports a failure without a reason as "connect failed", and ignores lines it did not ask for', async () => {
    const connector = new NamespaceConnector(['bash', '-c', 'while read -r id h p; do echo "999 ok"; echo "x y"; echo "$id fail"; done']);
    try {
      expect(await connector.connect('127.0.0.1', 1, signal())).toEqual({ ok: false, detail: 'connect failed' });
      expect(await connector.connect('127.0.0.1', 1, signal())).toEqual({ ok: false, detail: 'connect failed' });
    } finally {
      connector.close();
    }
  });

  it('passes a multi-word reason on whole', async () => {
    const connector = new NamespaceConnector(['bash', '-c', 'while read -r id h p; do echo "$id fail No route to host"; done']);
    try {
      expect(await connector.connect('127.0.0.1', 1, signal())).toEqual({ ok: false, detail: 'No route to host' });
    } finally {
      connector.close();
    }
  });

  it('names the helper’s last error line when it dies, and starts a new one on the next request', async () => {
    const connector = new NamespaceConnector(['bash', '-c', 'echo first >&2; echo "Cannot open network namespace" >&2; exit 1']);
    expect(await connector.connect('127.0.0.1', 1, signal())).toEqual({ ok: false, detail: 'probe helper exited (code 1): Cannot open network namespace' });
    expect(await connector.connect('127.0.0.1', 1, signal())).toEqual({ ok: false, detail: 'probe helper exited (code 1): Cannot open network namespace' });
    connector.close();
  });

  it('says so when the helper cannot be started at all', async () => {
    const connector = new NamespaceConnector(['/nonexistent/natbeat-helper']);
    const result = await connector.connect('127.0.0.1', 1, signal());
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^probe helper failed to start \(spawn \/nonexistent\/natbeat-helper ENOENT\)/);
    connector.close();
  });

  it('answers an already aborted request at once', async () => {
    const connector = new NamespaceConnector(['bash', '-c', 'while read -r id h p; do sleep 5; echo "$id ok"; done']);
    try {
      expect(await connector.connect('127.0.0.1', 1, AbortSignal.abort())).toEqual({ ok: false, detail: 'timed out' });
    } finally {
      connector.close();
    }
  });

  it('after close, starts a fresh helper for the next request', async () => {
    const connector = new NamespaceConnector(['bash', '-c', 'while read -r id h p; do echo "$id ok"; done']);
    expect(await connector.connect('127.0.0.1', 1, signal())).toEqual({ ok: true, detail: 'connected' });
    connector.close();
    expect(await connector.connect('127.0.0.1', 1, signal())).toEqual({ ok: true, detail: 'connected' });
    connector.close();
  });

  it('runs the helper in the named namespace (one that does not exist fails the request)', async () => {
    const connector = NamespaceConnector.forNamespace(`nbt-missing-${process.pid}`);
    const result = await connector.connect('127.0.0.1', 1, signal());
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/^probe helper (exited \(code \d+\)|failed to start)/);
    connector.close();
  });
});
