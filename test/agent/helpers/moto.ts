/**
 * A bridge that makes moto (started on the root namespace's loopback by test/support/moto.ts)
 * reachable as 127.0.0.1:PORT inside another network namespace through a Unix socket (a path, so
 * visible from any network namespace) — no link or route is added to the root namespace.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
