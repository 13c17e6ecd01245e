/**
 * A long-lived helper inside the probe namespace that opens TCP connections on request, so a probe
 * cycle costs one fork in the helper instead of spawning `ip netns exec` every time.
 *
 * Protocol over stdio, one line each: agent → helper `ID HOST PORT`; helper → agent `ID pid PID`
 * (the process doing the connect, so a timed-out attempt can be killed), then `ID ok` or
 * `ID fail REASON`. bash's /dev/tcp does the connect: bash is on every NAT AMI, and the helper needs
 * no second Node runtime (tens of MB of memory).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export const CONNECT_HELPER_SCRIPT = [
  'while read -r id host port; do',
  '  {',
  '    if err=$(exec 2>&1; echo "$id pid $BASHPID" >&4; exec 3<>"/dev/tcp/$host/$port"); then',
  '      echo "$id ok"',
  '    else',
  '      err=${err##*: }; echo "$id fail ${err:-connect failed}"',
  '    fi',
  '  } 4>&1 &',
  'done',
].join('\n');

export interface ConnectResult {
  ok: boolean;
  detail: string;
}

export interface Connector {
  connect(host: string, port: number, signal: AbortSignal): Promise<ConnectResult>;
  close(): void;
}

interface Pending {
  settle: (result: ConnectResult) => void;
  pid?: number;
  /** The helper the request went to: only its own end fails the request. */
  helper?: ChildProcessWithoutNullStreams;
}

/** Spawns the helper lazily and again after it died; `command` is the argv that runs bash in the namespace. */
export class NamespaceConnector implements Connector {
  private child: ChildProcessWithoutNullStreams | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private lastError = '';

  constructor(private readonly command: readonly string[]) {}

  static forNamespace(namespace: string): NamespaceConnector {
    return new NamespaceConnector(['ip', 'netns', 'exec', namespace, 'bash', '--norc', '--noprofile', '-c', CONNECT_HELPER_SCRIPT]);
  }

  private start(): ChildProcessWithoutNullStreams {
    const [file, ...args] = this.command as [string, ...string[]];
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lastError = '';
    child.stdin.on('error', () => undefined); // reported through 'exit'
    child.stderr.on('data', (chunk: Buffer) => {
      this.lastError = chunk.toString().trim().split('\n').pop() ?? '';
    });
    createInterface({ input: child.stdout }).on('line', (line) => this.onLine(line));
    const onGone = (reason: string) => {
      if (this.child === child) this.child = undefined;
      const detail = `probe helper ${reason}${this.lastError ? `: ${this.lastError}` : ''}`;
      for (const [id, pending] of this.pending) {
        if (pending.helper !== child) continue; // sent to a successor (after close(), or 'close' following 'error')
        this.pending.delete(id);
        pending.settle({ ok: false, detail });
      }
    };
    child.on('error', (error) => onGone(`failed to start (${error.message})`));
    // 'close' (not 'exit') so the last stderr line has arrived.
    child.on('close', (code, signal) => onGone(`exited (${signal ?? `code ${code}`})`));
    return child;
  }

  private onLine(line: string): void {
    const [idText, kind, ...rest] = line.split(' ');
    const pending = this.pending.get(Number(idText));
    if (!pending) return;
    if (kind === 'pid') {
      pending.pid = Number(rest[0]);
    } else if (kind === 'ok' || kind === 'fail') {
      this.pending.delete(Number(idText));
      pending.settle({ ok: kind === 'ok', detail: kind === 'ok' ? 'connected' : rest.join(' ') || 'connect failed' });
    }
  }

  connect(host: string, port: number, signal: AbortSignal): Promise<ConnectResult> {
    if (!/^[0-9.]+$/.test(host)) return Promise.resolve({ ok: false, detail: `not an IPv4 address: ${host}` });
    this.child ??= this.start();
    const id = this.nextId++;
    return new Promise<ConnectResult>((resolve) => {
      const onAbort = () => {
        const pending = this.pending.get(id);
        this.pending.delete(id);
        // A dropped SYN would otherwise keep the attempt alive for the kernel's SYN retries (minutes).
        if (pending?.pid) {
          try {
            process.kill(pending.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        resolve({ ok: false, detail: 'timed out' });
      };
      this.pending.set(id, {
        helper: this.child,
        settle: (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
      });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.child?.stdin.write(`${id} ${host} ${port}\n`);
    });
  }

  close(): void {
    this.child?.stdin.end();
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }
}
