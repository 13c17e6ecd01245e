/**
 * Every benchmark, run the way the docs run it (`npm run -s bench:…`) at a small size, so none can
 * break unnoticed. Each must exit 0, print exactly one JSON object on stdout and a human summary
 * on stderr. Figures are not checked here: they are measured by the full runs, not by tests.
 * The agent benchmark needs root, ip, nft and moto; without them it is skipped with the reason
 * printed (NATBEAT_REQUIRE_NETNS=1 makes that a failure).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { netnsUnavailableReason } from '../agent/helpers/topology';
import { motoSkipReason } from '../support/moto';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function bench(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('npm', ['run', '-s', script, '--', ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

/** 'exit 0', or the exit code with the tail of stderr, so a failure shows why. */
function exitOk(r: { code: number | null; stderr: string }): string {
  return r.code === 0 ? 'exit 0' : `exit ${r.code}:\n${r.stderr.slice(-3000)}`;
}

function expectOneJsonObject(stdout: string): Record<string, unknown> {
  const value: unknown = JSON.parse(stdout);
  expect(value).toBeTypeOf('object');
  expect(Array.isArray(value)).toBe(false);
  return value as Record<string, unknown>;
}

describe('Benchmarks (smoke runs)', { timeout: 600_000 }, () => {
  it('bench:reconcile', async () => {
    const r = await bench('bench:reconcile', ['--nats', '30', '--groups', '10', '--silent', '2', '--latency-ms', '1']);
    expect(exitOk(r)).toBe('exit 0');
    expect(expectOneJsonObject(r.stdout)).toMatchObject({ fleet: { nats: 30, groups: 10 }, reportQueries: expect.any(Number) as number });
    expect(r.stderr).toMatch(/^reconcile of 30 NATs in 10 groups/m);
  });

  it('bench:failover', async () => {
    const r = await bench('bench:failover', ['--trials', '1', '--sweep-trials', '1', '--quiet-runs', '1', '--seed', '7']);
    expect(exitOk(r)).toBe('exit 0');
    expect(expectOneJsonObject(r.stdout)).toMatchObject({ seed: 7, egressGapSeconds: expect.any(Object) as object });
    expect(r.stderr).toMatch(/^profile \w+: natbeat egress gap/m);
    expect(r.stderr).toMatch(/controller \$[\d.]+ per AZ-month/);
  });

  it('bench:init', async () => {
    const r = await bench('bench:init', ['--runs', '1']);
    expect(exitOk(r)).toBe('exit 0');
    const out = expectOneJsonObject(r.stdout) as { bundles: { name: string; lambda: boolean; bytes: number; importMs: number }[] };
    expect(out.bundles.map((b) => [b.name, b.lambda])).toEqual([
      ['reconcile', true],
      ['intake', true],
      ['agent', false],
    ]);
    for (const b of out.bundles) expect(b).toMatchObject({ bytes: expect.any(Number) as number, importMs: expect.any(Number) as number });
    expect(r.stderr).toMatch(/^reconcile +\d+ KiB in \d+ file\(s\), import \d+ ms median of 1/m);
  });

  const agentReason = netnsUnavailableReason() ?? motoSkipReason();
  const requireNetns = process.env.NATBEAT_REQUIRE_NETNS === '1';
  if (agentReason && !requireNetns) console.warn(`bench:agent smoke run skipped: ${agentReason}`);
  it.skipIf(Boolean(agentReason) && !requireNetns)('bench:agent (root)', async () => {
    const r = await bench('bench:agent', [], { BENCH_CYCLES: '2', BENCH_INTERVAL: '1' });
    expect(exitOk(r)).toBe('exit 0');
    expect(expectOneJsonObject(r.stdout)).toMatchObject({ cyclesMeasured: 2, faultToFirstFailingBodyMs: expect.any(Number) as number, sigtermExit: { code: 0 } });
    expect(r.stderr).toMatch(/^bench: agent RSS [\d.]+ MiB/m);
  });
});
