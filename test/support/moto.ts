/**
 * moto (a Python AWS API emulator) as a throw-away server on 127.0.0.1, for integration tests.
 *
 *   const skip = motoSkipReason();                  // at collection time
 *   describe.skipIf(skip !== undefined)('…', () => {
 *     let moto: MotoServer;
 *     beforeAll(async () => { moto = await startMoto(); });
 *     afterAll(() => moto?.stop());
 *     beforeEach(() => moto.reset());
 *   });
 *
 * With NATBEAT_REQUIRE_MOTO=1 (CI) nothing is skipped: a missing moto makes startMoto reject, so
 * the suite fails instead of passing silently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { AwsClients } from '../../lambdas/core/clients';

export interface MotoServer {
  /** http://127.0.0.1:PORT — pass it as the SDK clients' `endpoint`. */
  endpoint: string;
  /** Forgets every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL). Safe to call twice. */
  stop(): Promise<void>;
}

export const REQUIRE_MOTO_ENV = 'NATBEAT_REQUIRE_MOTO';

export class MotoUnavailableError extends Error {}

const PYTHON = process.env.NATBEAT_PYTHON ?? 'python3';
const START_TIMEOUT_MS = 20_000;

export function motoRequired(): boolean {
  return process.env[REQUIRE_MOTO_ENV] === '1';
}

/**
 * Why moto tests should be skipped here, or undefined when they must run: always undefined when
 * NATBEAT_REQUIRE_MOTO=1. The reason is printed, so a skip never goes unnoticed.
 */
export function motoSkipReason(): string | undefined {
  if (motoRequired()) return undefined;
  const probe = spawnSync(PYTHON, ['-c', 'import moto.server, flask'], { encoding: 'utf8', timeout: 15_000 });
  if (probe.status === 0) return undefined;
  const detail = probe.error?.message ?? probe.stderr.trim().split('\n').at(-1) ?? `exit ${probe.status}`;
  const reason = `moto server not available (${detail}); install it with pip install "moto[server]" (set ${REQUIRE_MOTO_ENV}=1 to make this a failure)`;
  console.warn(`skipping moto integration tests: ${reason}`);
  return reason;
}

/** Starts moto on a free loopback port and resolves once it answers HTTP. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(PYTHON, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    // Keep the tail only: moto logs every request.
    output = (output + chunk.toString()).slice(-4000);
  });
  let exited: string | undefined;
  child.once('error', (error) => (exited = `could not run ${PYTHON}: ${error.message}`));
  child.once('exit', (code, signal) => (exited ??= `moto exited early (code ${code}, signal ${signal})`));

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await answers(endpoint))) {
    if (exited !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      const why = exited ?? `no answer on ${endpoint} within ${START_TIMEOUT_MS} ms`;
      throw new MotoUnavailableError(`moto server did not start: ${why}\n${output.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    endpoint,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    stop: () => stopChild(child),
  };
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** SDK clients for moto: its endpoint, us-east-1, dummy credentials, few attempts (errors surface fast). */
export function motoClients(endpoint: string): AwsClients {
  const common = {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 2,
  };
  return {
    ec2: new EC2Client(common),
    autoScaling: new AutoScalingClient(common),
    dynamoDb: new DynamoDBClient(common),
  };
}
