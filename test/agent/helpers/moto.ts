/**
 * moto (AWS API emulator) on the root namespace's loopback, and a bridge that makes it reachable as
 * 127.0.0.1:PORT inside another network namespace through a Unix socket (a path, so visible from any
 * network namespace) — no link or route is added to the root namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForExit, waitForLine } from './topology';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export class Moto {
  private constructor(
    readonly endpoint: string,
    private readonly child: ChildProcess,
  ) {}

  /** Starts moto; rejects with moto's own output when it cannot start. */
  static async start(): Promise<Moto> {
    const port = await freePort();
    const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const failed = new Promise<never>((_, reject) => child.once('error', (error) => reject(new Error(`python3 not startable: ${error.message}`))));
    await Promise.race([waitForLine(child, 'Running on', 20_000), failed]);
    return new Moto(`http://127.0.0.1:${port}`, child);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    if ((await waitForExit(this.child, 3000)) === null) this.child.kill('SIGKILL');
  }
}

/** Why moto cannot run here, or undefined. Probed by starting it for real. */
export async function motoUnavailableReason(): Promise<string | undefined> {
  try {
    const moto = await Moto.start();
    await moto.stop();
    return undefined;
  } catch (error) {
    return `moto server did not start (${(error as Error).message.split('\n')[0]}); install it with pip install "moto[server]"`;
  }
}

/** Root side of the bridge: a Unix socket that forwards to a TCP port on the root loopback. */
export class UnixBridge {
  private constructor(
    readonly socketPath: string,
    private readonly server: Server,
    private readonly dir: string,
  ) {}

  static async toTcp(port: number): Promise<UnixBridge> {
    const dir = await mkdtemp(join(tmpdir(), 'natbeat-bridge-'));
    const socketPath = join(dir, 'sock');
    const server = createServer((client) => {
      const upstream = connect(port, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return new UnixBridge(socketPath, server, dir);
  }

  /** Node one-liner for the namespace side: 127.0.0.1:port → the Unix socket. */
  namespaceSideScript(port: number): string {
    return `const net=require('net');net.createServer(c=>{const u=net.connect(${JSON.stringify(this.socketPath)});c.pipe(u).pipe(c);c.on('error',()=>u.destroy());u.on('error',()=>c.destroy())}).listen(${port},'127.0.0.1',()=>console.log('bridging'))`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
