/**
 * A throw-away network: private host → NAT → "internet", each its own network namespace, joined by
 * veth pairs created inside them (the root namespace's links, routes and firewall are never touched).
 * Names carry the pid and a random suffix so parallel runs cannot collide.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const VPC_CIDR = '10.77.0.0/16';
export const PRIVATE_HOST_IP = '10.77.1.2';
export const NAT_PRIVATE_IP = '10.77.1.1';
/** The NAT's subnet (`--subnet-cidr`): the probe sends from its reserved network+3, PROBE_SOURCE. */
export const NAT_SUBNET = '10.77.1.0/24';
export const PROBE_SOURCE = '10.77.1.3';
export const NAT_PUBLIC_IP = '198.51.100.1';
export const INTERNET_GATEWAY_IP = '198.51.100.254';
/** The "internet" server lives on a separate address, so reaching it needs the NAT's default route. */
export const SERVER_IP = '203.0.113.10';
export const SERVER_PORT = 8080;
export const EGRESS_INTERFACE = 'n-pub';

export async function sh(args: string[], options: { input?: string } = {}): Promise<string> {
  const [file, ...rest] = args as [string, ...string[]];
  try {
    if (options.input !== undefined) {
      return await new Promise((resolve, reject) => {
        const child = spawn(file, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
        child.stdin.end(options.input);
      });
    }
    return (await execFileAsync(file, rest, { timeout: 20_000 })).stdout;
  } catch (error) {
    throw new Error(`${args.join(' ')} failed: ${(error as Error).message}`, { cause: error });
  }
}

/** Why real-kernel tests cannot run here, or undefined when they can. */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN)';
  for (const tool of ['ip', 'nft', 'nsenter']) {
    if (!['/usr/sbin', '/sbin', '/usr/bin', '/bin'].some((dir) => existsSync(`${dir}/${tool}`))) return `${tool} not installed`;
  }
  return undefined;
}

function enter(ns: string, args: string[]): string[] {
  return ['nsenter', `--net=/run/netns/${ns}`, '--', ...args];
}

/**
 * A set of throw-away network namespaces and the processes started in them; destroy() kills the
 * processes and deletes every namespace it was told about, whether or not creation got that far.
 */
export class NamespaceSet {
  private readonly children: ChildProcess[] = [];
  /** Every namespace to delete on destroy (including ones made by code under test). */
  protected readonly owned: string[] = [];

  constructor(readonly id = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`) {}

  /** Registers a namespace name for clean-up and returns it. */
  protected name(role: string, prefix = 'nbt'): string {
    const ns = `${prefix}-${role}-${this.id}`;
    this.owned.push(ns);
    return ns;
  }

  /**
   * Runs a command inside a namespace. nsenter enters only the network namespace: `ip netns exec`
   * would also give it a private mount namespace, where the agent's own `ip netns add` would vanish
   * with the process (on a real NAT the agent runs in the root namespaces).
   */
  in(ns: string, args: string[], options: { input?: string } = {}): Promise<string> {
    return sh(enter(ns, args), options);
  }

  /** Like in(), but resolves with the exit code and both outputs instead of throwing. */
  run(ns: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const [file, ...rest] = enter(ns, args) as [string, ...string[]];
    return new Promise((resolve) => {
      execFile(file, rest, { timeout: 20_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Starts a long-lived process inside a namespace; stopped by destroy(). */
  spawnIn(ns: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const [file, ...rest] = enter(ns, args) as [string, ...string[]];
    const child = spawn(file, rest, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.children.push(child);
    return child;
  }

  async destroy(): Promise<void> {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(this.children.map((child) => waitForExit(child, 2000)));
    for (const ns of this.owned) {
      await sh(['ip', 'netns', 'del', ns]).catch(() => undefined); // may not exist
    }
  }
}

export class NatTopology extends NamespaceSet {
  readonly private = this.name('priv');
  readonly nat = this.name('nat');
  readonly internet = this.name('inet');
  /** The agent's probe namespace (created by `setup`, deleted by destroy). */
  readonly probe = this.name('probe');

  async create(): Promise<void> {
    for (const ns of [this.private, this.nat, this.internet]) await sh(['ip', 'netns', 'add', ns]);
    const { private: priv, nat, internet } = this;
    const steps: string[][] = [
      ['-n', nat, 'link', 'add', 'n-priv', 'type', 'veth', 'peer', 'name', 'p-eth0', 'netns', priv],
      ['-n', nat, 'link', 'add', EGRESS_INTERFACE, 'type', 'veth', 'peer', 'name', 'i-eth0', 'netns', internet],
      ['-n', priv, 'addr', 'add', `${PRIVATE_HOST_IP}/24`, 'dev', 'p-eth0'],
      ['-n', nat, 'addr', 'add', `${NAT_PRIVATE_IP}/24`, 'dev', 'n-priv'],
      ['-n', nat, 'addr', 'add', `${NAT_PUBLIC_IP}/24`, 'dev', EGRESS_INTERFACE],
      ['-n', internet, 'addr', 'add', `${INTERNET_GATEWAY_IP}/24`, 'dev', 'i-eth0'],
      ['-n', internet, 'addr', 'add', `${SERVER_IP}/32`, 'dev', 'lo'],
      ...[priv, nat, internet].map((ns) => ['-n', ns, 'link', 'set', 'lo', 'up']),
      ['-n', priv, 'link', 'set', 'p-eth0', 'up'],
      ['-n', nat, 'link', 'set', 'n-priv', 'up'],
      ['-n', nat, 'link', 'set', EGRESS_INTERFACE, 'up'],
      ['-n', internet, 'link', 'set', 'i-eth0', 'up'],
      ['-n', priv, 'route', 'add', 'default', 'via', NAT_PRIVATE_IP],
      ['-n', nat, 'route', 'add', 'default', 'via', INTERNET_GATEWAY_IP],
    ];
    for (const step of steps) await sh(['ip', ...step]);
  }

  /** An HTTP server on SERVER_IP:SERVER_PORT in the internet namespace. */
  async startServer(): Promise<ChildProcess> {
    const child = this.spawnIn(this.internet, [
      process.execPath,
      '-e',
      // Answers with the client address it sees, so tests can tell masqueraded traffic from direct.
      `require('http').createServer((q, s) => s.end(q.socket.remoteAddress)).listen(${SERVER_PORT}, '0.0.0.0', () => console.log('listening'))`,
    ]);
    await waitForLine(child, 'listening');
    return child;
  }
}

export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

export function waitForLine(child: ChildProcess, text: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${text}"; output: ${seen}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before "${text}"; output: ${seen}`));
    });
  });
}
