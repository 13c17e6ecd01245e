/**
 * The CLI as a user runs it: the bundle behind bin/natbeat.mjs in a process of its own, against a
 * local HTTP server that is not an AWS API. Covers what only a real process shows: warnings Node
 * prints, exit codes and the source-mapped stack under NATBEAT_DEBUG.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_BUNDLE_OPTIONS } from '../../scripts/bundle-options';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

describe('natbeat CLI process', { timeout: 60_000 }, () => {
  let dir: string;
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    // The installed layout: bin/natbeat.mjs next to dist/cli/natbeat.mjs (+ .map).
    dir = mkdtempSync(join(tmpdir(), 'natbeat-cli-'));
    mkdirSync(join(dir, 'bin'));
    copyFileSync(join(REPO, 'bin/natbeat.mjs'), join(dir, 'bin/natbeat.mjs'));
    buildSync({ ...NODE_BUNDLE_OPTIONS, entryPoints: [join(REPO, 'cli/main.ts')], outfile: join(dir, 'dist/cli/natbeat.mjs'), absWorkingDir: REPO });
    server = createServer((_request, response) => {
      response.statusCode = 404;
      response.end('<html>no such page</html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Asynchronous: the 404 server answers from this process's event loop.
  function natbeat(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !k.startsWith('NATBEAT_')));
    const childEnv = {
      ...clean,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
      AWS_ENDPOINT_URL: endpoint,
      NATBEAT_MAX_ATTEMPTS: '1',
      NATBEAT_REPORT_TABLE: 'natbeat-reports',
      ...env,
    };
    return new Promise((resolve) => {
      const child = execFile(process.execPath, [join(dir, 'bin/natbeat.mjs'), ...args], { encoding: 'utf8', timeout: 30_000, env: childEnv }, (_error, stdout, stderr) =>
        resolve({ status: child.exitCode, stdout, stderr }),
      );
    });
  }

  it('explains an endpoint answering 404, without the SDK Node-version warning', async () => {
    const r = await natbeat(['status']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`natbeat: the endpoint ${endpoint} answered HTTP 404 to autoscaling:DescribeAutoScalingGroups`);
    expect(r.stderr).not.toContain('NotFound: Unknown');
    // The SDK warns on Node < 22 when a client is created; the CLI creates three here.
    expect(r.stderr).not.toMatch(/NodeVersionSupportWarning|Warning:/);
  });

  it('prints the stack mapped to the sources with NATBEAT_DEBUG=1', async () => {
    const r = await natbeat(['plan'], { NATBEAT_DEBUG: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\((\S*\/)?(lambdas|cli)\/[\w/-]+\.ts:\d+:\d+\)/);
    expect(r.stderr).not.toMatch(/natbeat\.mjs:\d+:\d+/);
  });

  it('writes a JSON error object to stdout with --json', async () => {
    const r = await natbeat(['status', '--json']);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ error: { message: expect.stringContaining('answered HTTP 404') as string, exitCode: 1 } });
  });
});
