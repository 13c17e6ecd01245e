/**
 * `forward-path`: a TCP connection from the probe namespace to a target outside, so the packets
 * cross this kernel's FORWARD and POSTROUTING (masquerade) path like a private subnet's would.
 * It is the only probe that notices a kernel that stopped forwarding (e.g. a FORWARD drop policy).
 */
import { lookup } from 'node:dns/promises';
import type { ProbeTarget } from '../config';
import { errorMessage } from '../errors';
import type { Connector } from './connect-helper';
import type { Probe } from './types';

export type ResolveIpv4 = (host: string) => Promise<string>;

/** IPv4 only: a name that also resolves to IPv6 must not fail the probe (seen as false failovers elsewhere). */
const DNS_CACHE_MS = 60_000;

export function cachedIpv4Resolver(resolve: (host: string) => Promise<string> = async (host) => (await lookup(host, { family: 4 })).address, now = Date.now): ResolveIpv4 {
  const cache = new Map<string, { address: string; at: number }>();
  return async (host) => {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return host;
    const cached = cache.get(host);
    if (cached && now() - cached.at < DNS_CACHE_MS) return cached.address;
    try {
      const address = await resolve(host);
      cache.set(host, { address, at: now() });
      return address;
    } catch (error) {
      // The resolver is not the routing path under test: keep using a stale answer if there is one.
      if (cached) return cached.address;
      throw error;
    }
  };
}

export function forwardPathProbe(connector: Connector, targets: readonly ProbeTarget[], resolveIpv4: ResolveIpv4): Probe {
  return {
    name: 'forward-path',
    async run(signal) {
      // Each attempt gets its own signal so the losers are killed once one target answers.
      const attempts = new AbortController();
      const onAbort = () => attempts.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      const failures: string[] = [];
      try {
        const winner = await Promise.any(
          targets.map(async (target) => {
            const label = `${target.host}:${target.port}`;
            let address: string;
            try {
              address = await resolveIpv4(target.host);
            } catch (error) {
              failures.push(`${label} DNS: ${errorMessage(error)}`);
              throw error;
            }
            const result = await connector.connect(address, target.port, attempts.signal);
            const where = address === target.host ? label : `${label} (${address})`;
            if (!result.ok) {
              failures.push(`${where} ${result.detail}`);
              throw new Error(result.detail);
            }
            return where;
          }),
        );
        return { ok: true, detail: `connected to ${winner} through the forward path` };
      } catch {
        return { ok: false, detail: `no target reachable through the forward path: ${failures.join('; ')}` };
      } finally {
        signal.removeEventListener('abort', onAbort);
        attempts.abort();
      }
    },
  };
}
