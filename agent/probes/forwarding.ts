/** `forwarding`: the kernel forwards IPv4 (net.ipv4.ip_forward = 1). */
import { SYSCTL_IP_FORWARD, type System } from '../system';
import type { Probe, ProbeOutcome } from './types';

export function assessIpForward(text: string): ProbeOutcome {
  const value = text.trim();
  if (value === '1') return { ok: true, detail: 'net.ipv4.ip_forward = 1' };
  if (value === '0') return { ok: false, detail: 'net.ipv4.ip_forward = 0: the kernel does not forward IPv4' };
  return { ok: false, detail: `net.ipv4.ip_forward has an unexpected value "${value}"` };
}

export function forwardingProbe(system: Pick<System, 'readFile'>): Probe {
  return {
    name: 'forwarding',
    run: async () => assessIpForward(await system.readFile(SYSCTL_IP_FORWARD)),
  };
}
