/** The host as the agent sees it: commands and /proc/sys. Injected everywhere so logic is testable. */
import { readFile, writeFile } from 'node:fs/promises';
import { execCommand, type Exec } from './exec';

export interface System {
  exec: Exec;
  readFile(path: string): Promise<string>;
  writeFile(path: string, text: string): Promise<void>;
}

export const realSystem: System = {
  exec: execCommand,
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, text) => writeFile(path, text),
};

export const SYSCTL_IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
export const SYSCTL_CONNTRACK_TCP_ESTABLISHED = '/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established';
/** net.ipv4.conf.<interface>.send_redirects (`all`, `default` or an interface name). */
export const sysctlSendRedirects = (scope: string) => `/proc/sys/net/ipv4/conf/${scope}/send_redirects`;
/** net.ipv4.conf.<interface>.proxy_arp (`all` or an interface name). */
export const sysctlProxyArp = (scope: string) => `/proc/sys/net/ipv4/conf/${scope}/proxy_arp`;

/** Names of the veth pair between the host and the probe namespace (IFNAMSIZ: ≤ 15 characters). */
export const HOST_VETH = 'natbeat-host';
export const PROBE_VETH = 'natbeat-probe';
/** Our own nftables table: replacing it never touches anybody else's rules. */
export const NFT_TABLE = 'natbeat';
