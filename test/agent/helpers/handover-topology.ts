/**
 * An AWS-like VPC in network namespaces for connection handover: a VPC router namespace joins one
 * bridge per subnet (public A, public B, private) and applies the private subnet's route table
 * (0.0.0.0/0 → a NAT, moved with `ip route replace` like ReplaceRoute); NATs have a single interface
 * (eth0) like a NAT instance's ENI; an internet-gateway namespace passes only the NATs' addresses
 * (as an IGW translates only addresses that have a public IP), then a server namespace.
 *
 *   h1, h2 ── br-p ─┐                         ┌─ igw (passes NAT addresses only) ── server
 *   old, new(A) ─ br-a ─┼─ vpc router ──────────┘
 *   new(B) ──── br-b ─┘
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NamespaceSet, sh, waitForLine } from './topology';

export const HANDOVER_VPC_CIDR = '10.77.0.0/16';
export const SUBNET_A_ROUTER = '10.77.0.1';
export const SUBNET_B_ROUTER = '10.77.2.1';
/** The NATs' subnets (`--subnet-cidr` of their agents). */
export const SUBNET_A = '10.77.0.0/24';
export const SUBNET_B = '10.77.2.0/24';
export const PRIVATE_ROUTER = '10.77.1.1';
export const OLD_NAT_IP = '10.77.0.10';
export const NEW_NAT_SAME_SUBNET_IP = '10.77.0.20';
export const NEW_NAT_OTHER_SUBNET_IP = '10.77.2.20';
export const PRIVATE_HOST_IPS = ['10.77.1.11', '10.77.1.12'] as const;
export const FLOW_SERVER_IP = '203.0.113.10';
export const FLOW_SERVER_PORT = 7000;
const PRIVATE_ROUTE_TABLE = '100';
const IGW_LINK = { vpc: '100.64.0.1', igw: '100.64.0.2' };
const SERVER_LINK = { igw: '203.0.113.1' };

export type HandoverVariant = 'same-subnet' | 'cross-subnet';

export const FLOW_SCRIPTS = {
  server: fileURLToPath(new URL('./flows/server.mjs', import.meta.url)),
  client: fileURLToPath(new URL('./flows/client.mjs', import.meta.url)),
};

export class HandoverTopology extends NamespaceSet {
  readonly vpc = this.name('vpc', 'nbh');
  readonly igw = this.name('igw', 'nbh');
  readonly server = this.name('srv', 'nbh');
  readonly hosts = [this.name('h1', 'nbh'), this.name('h2', 'nbh')] as const;
  readonly old = this.name('old', 'nbh');
  readonly new = this.name('new', 'nbh');
  /** The agents' probe namespaces (made by `setup` inside each NAT). */
  readonly probes = { old: this.name('pold', 'nbh'), new: this.name('pnew', 'nbh') };
  readonly newAddress: string;
  /** The subnet of each NAT, by namespace. */
  readonly subnets: Record<string, string>;

  constructor(readonly variant: HandoverVariant) {
    super();
    this.newAddress = variant === 'same-subnet' ? NEW_NAT_SAME_SUBNET_IP : NEW_NAT_OTHER_SUBNET_IP;
    this.subnets = { [this.old]: SUBNET_A, [this.new]: variant === 'same-subnet' ? SUBNET_A : SUBNET_B };
  }

  private sysctl(ns: string, settings: Record<string, string>): Promise<string> {
    const script = Object.entries(settings)
      .map(([key, value]) => `echo ${value} > /proc/sys/${key.replaceAll('.', '/')}`)
      .join(' && ');
    return this.in(ns, ['sh', '-c', script]);
  }

  /** A veth from the VPC router's bridge to `ns`, named eth0 there, with its address and default route. */
  private async attach(ns: string, bridge: string, address: string, gateway: string): Promise<void> {
    const outside = `v-${ns.split('-')[1]}`;
    for (const step of [
      ['-n', this.vpc, 'link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns],
      ['-n', this.vpc, 'link', 'set', outside, 'master', bridge, 'up'],
      ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0'],
      ['-n', ns, 'link', 'set', 'eth0', 'up'],
      ['-n', ns, 'link', 'set', 'lo', 'up'],
      ['-n', ns, 'route', 'add', 'default', 'via', gateway],
    ]) {
      await sh(['ip', ...step]);
    }
  }

  async create(): Promise<void> {
    for (const ns of [this.vpc, this.igw, this.server, ...this.hosts, this.old, this.new]) await sh(['ip', 'netns', 'add', ns]);
    const { vpc, igw, server } = this;
    // Before any interface exists, so every one inherits it: the VPC router never sends redirects
    // (AWS's does not either), which would teach a NAT to bypass it.
    await this.sysctl(vpc, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.send_redirects': '0', 'net.ipv4.conf.default.send_redirects': '0' });
    await this.sysctl(igw, { 'net.ipv4.ip_forward': '1' });
    for (const [bridge, address] of [['br-a', `${SUBNET_A_ROUTER}/24`], ['br-b', `${SUBNET_B_ROUTER}/24`], ['br-p', `${PRIVATE_ROUTER}/24`]] as const) {
      await sh(['ip', '-n', vpc, 'link', 'add', bridge, 'type', 'bridge']);
      await sh(['ip', '-n', vpc, 'addr', 'add', address, 'dev', bridge]);
      await sh(['ip', '-n', vpc, 'link', 'set', bridge, 'up']);
    }
    for (const step of [
      ['-n', vpc, 'link', 'set', 'lo', 'up'],
      ['-n', vpc, 'link', 'add', 'v-igw', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', igw],
      ['-n', vpc, 'addr', 'add', `${IGW_LINK.vpc}/30`, 'dev', 'v-igw'],
      ['-n', vpc, 'link', 'set', 'v-igw', 'up'],
      ['-n', vpc, 'route', 'add', 'default', 'via', IGW_LINK.igw],
      // The private subnet's route table: the VPC's own range stays local, the rest goes to a NAT.
      ['-n', vpc, 'rule', 'add', 'priority', '90', 'iif', 'br-p', 'to', HANDOVER_VPC_CIDR, 'lookup', 'main'],
      ['-n', vpc, 'rule', 'add', 'priority', '100', 'iif', 'br-p', 'lookup', PRIVATE_ROUTE_TABLE],
      ['-n', igw, 'addr', 'add', `${IGW_LINK.igw}/30`, 'dev', 'eth0'],
      ['-n', igw, 'link', 'set', 'eth0', 'up'],
      ['-n', igw, 'link', 'set', 'lo', 'up'],
      ['-n', igw, 'route', 'add', HANDOVER_VPC_CIDR, 'via', IGW_LINK.vpc],
      ['-n', igw, 'link', 'add', 'v-srv', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', server],
      ['-n', igw, 'addr', 'add', `${SERVER_LINK.igw}/24`, 'dev', 'v-srv'],
      ['-n', igw, 'link', 'set', 'v-srv', 'up'],
      ['-n', server, 'addr', 'add', `${FLOW_SERVER_IP}/24`, 'dev', 'eth0'],
      ['-n', server, 'link', 'set', 'eth0', 'up'],
      ['-n', server, 'link', 'set', 'lo', 'up'],
      ['-n', server, 'route', 'add', 'default', 'via', SERVER_LINK.igw],
    ]) {
      await sh(['ip', ...step]);
    }
    const nats = `{ ${OLD_NAT_IP}, ${this.newAddress} }`;
    await this.in(igw, ['nft', '-f', '-'], {
      input: [
        'table ip igw {',
        '  chain forward {',
        '    type filter hook forward priority filter; policy accept;',
        `    iifname "eth0" ip saddr != ${nats} counter drop`,
        `    oifname "eth0" ip daddr != ${nats} counter drop`,
        '  }',
        '}',
      ].join('\n'),
    });
    for (const [index, host] of this.hosts.entries()) await this.attach(host, 'br-p', PRIVATE_HOST_IPS[index] as string, PRIVATE_ROUTER);
    await this.attach(this.old, 'br-a', OLD_NAT_IP, SUBNET_A_ROUTER);
    if (this.variant === 'same-subnet') await this.attach(this.new, 'br-a', NEW_NAT_SAME_SUBNET_IP, SUBNET_A_ROUTER);
    else await this.attach(this.new, 'br-b', NEW_NAT_OTHER_SUBNET_IP, SUBNET_B_ROUTER);
    await this.routePrivateSubnet(OLD_NAT_IP);
  }

  /** The ReplaceRoute: the private subnet's 0.0.0.0/0 now targets `nat`. */
  routePrivateSubnet(nat: string): Promise<string> {
    return sh(['ip', '-n', this.vpc, 'route', 'replace', 'default', 'via', nat, 'table', PRIVATE_ROUTE_TABLE]);
  }

  /** Packets the internet gateway dropped because they did not come from (or go to) a NAT address. */
  async droppedAtGateway(): Promise<number> {
    const listing = await this.in(this.igw, ['nft', 'list', 'table', 'ip', 'igw']);
    return [...listing.matchAll(/counter packets (\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  }

  async startFlowServer(): Promise<ChildProcess> {
    const child = this.spawnIn(this.server, [process.execPath, FLOW_SCRIPTS.server, String(FLOW_SERVER_PORT)]);
    await waitForLine(child, 'listening');
    return child;
  }
}
