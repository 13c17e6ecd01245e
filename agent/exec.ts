/**
 * The one door to system commands (ip, nft), so every caller can be unit-tested with a stand-in.
 */
import { spawn } from 'node:child_process';
import { CommandError } from './errors';

export interface ExecOptions {
  /** Written to the command's stdin, then stdin is closed. */
  input?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** Runs a command; resolves on exit 0, rejects with CommandError otherwise. */
export type Exec = (file: string, args: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

const DEFAULT_TIMEOUT_MS = 10_000;

export const execCommand: Exec = (file, args, options = {}) =>
  new Promise((resolve, reject) => {
    const command = [file, ...args].join(' ');
    const signals = [AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS)];
    if (options.signal) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], signal, killSignal: 'SIGKILL' });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => undefined); // the command may exit before reading its input
    child.stdin.end(options.input ?? '');
    child.on('error', (error) => {
      const reason = signal.aborted ? 'timed out or was aborted' : error.message;
      reject(new CommandError(`${command}: ${reason}`, command, null, Buffer.concat(stderr).toString(), { cause: error }));
    });
    child.on('close', (code) => {
      const err = Buffer.concat(stderr).toString();
      if (code === 0) {
        resolve({ stdout: Buffer.concat(stdout).toString(), stderr: err });
      } else if (code !== null) {
        reject(new CommandError(`${command} exited ${code}: ${err.trim() || '(no stderr)'}`, command, code, err));
      }
    });
  });
