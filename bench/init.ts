/**
 * Cold-start import cost of every bundle natbeat ships: the Lambda handlers (the intake is always
 * cold when something fails, so its init is on the fast path) and, for information, the agent.
 * Builds them first, with the same functions `npm run build` and the CDK construct use, into a
 * temporary directory outside the checkout (so a module left out of a bundle cannot be found in
 * node_modules). Then, per bundle, `--runs` fresh `node` processes each import it once and time
 * that import (performance.now() around `await import()`; Node's own start-up is not counted).
 * Prints one JSON object:
 *   bundles[]  name, lambda (false for the agent), bytes (JavaScript shipped, source maps aside),
 *              files, importMs (median of the runs), runsMs (every run, sorted), cpuMs (median
 *              CPU time of the import, all threads: less sensitive than wall time to other
 *              processes on the machine)
 *   goalImportMs, node, loadAverage1m (the machine's load when measured: the figures are wall
 *              times, and another busy process makes them longer)
 * Usage: npm run -s bench:init [-- --runs 5]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { AGENT_BUNDLE_FILE, stageAgentPackage } from '../infra/lib/agent-asset';
import { bundleController, type ControllerBundle } from '../infra/lib/bundles';
import { LAMBDA_ENTRIES } from '../scripts/bundle-options';

/** The goal for each Lambda handler on this machine. */
const GOAL_IMPORT_MS = 150;

/**
 * The environment a handler's init sees: what Lambda sets (region, credentials) and what the
 * construct sets, so that settings parse as they do in AWS (a setting that failed to parse would
 * take a different, shorter path).
 */
const INIT_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'natbeat-bench',
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
  NATBEAT_GROUP_NAMES: 'natbeat-a',
  NATBEAT_NAT_ROLE_ARN: 'arn:aws:iam::123456789012:role/natbeat-nat',
  NATBEAT_RECONCILE_FUNCTION: 'arn:aws:lambda:us-east-1:123456789012:function:natbeat-reconcile',
};

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${args.runs}`);

interface Bundle {
  name: string;
  lambda: boolean;
  /** The directory of the bundle and the file to import in it. */
  dir: string;
  entry: string;
}

interface Measured {
  name: string;
  lambda: boolean;
  bytes: number;
  files: number;
  importMs: number;
  runsMs: number[];
  cpuMs: number;
}

/** One fresh process importing the bundle once: the import's wall and CPU time in ms. */
function importOnce(bundle: Bundle, dir: string): { importMs: number; cpuMs: number } {
  const url = pathToFileURL(path.join(bundle.dir, bundle.entry)).href;
  const code = [
    'const cpu = process.cpuUsage();',
    'const started = performance.now();',
    `const module = await import(${JSON.stringify(url)});`,
    'const importMs = performance.now() - started;',
    'const used = process.cpuUsage(cpu);',
    // A handler bundle that does not export `handler` would time something Lambda cannot run.
    bundle.lambda ? "if (typeof module.handler !== 'function') throw new Error('no handler export');" : '',
    'process.stdout.write(`\\n${JSON.stringify({ importMs, cpuMs: (used.user + used.system) / 1000 })}\\n`);',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...INIT_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A module may write on import (a logger); the measurement is the last line.
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as { importMs: number; cpuMs: number };
}

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function measure(bundle: Bundle, dir: string): Measured {
  const code = readdirSync(bundle.dir).filter((f) => f.endsWith('.mjs'));
  const samples = Array.from({ length: runs }, () => importOnce(bundle, dir));
  const runsMs = samples.map((s) => s.importMs).sort((a, b) => a - b);
  const cpuMs = samples.map((s) => s.cpuMs).sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    name: bundle.name,
    lambda: bundle.lambda,
    bytes: code.reduce((sum, f) => sum + statSync(path.join(bundle.dir, f)).size, 0),
    files: code.length,
    importMs: round(median(runsMs)),
    runsMs: runsMs.map(round),
    cpuMs: round(median(cpuMs)),
  };
}

const root = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'natbeat-init-'));
try {
  const bundles: Bundle[] = [];
  for (const name of Object.keys(LAMBDA_ENTRIES) as ControllerBundle[]) {
    const dir = path.join(work, name);
    bundleController(name, root, dir);
    bundles.push({ name, lambda: true, dir, entry: 'index.mjs' });
  }
  const agentDir = path.join(work, 'agent');
  stageAgentPackage(root, agentDir);
  bundles.push({ name: 'agent', lambda: false, dir: agentDir, entry: AGENT_BUNDLE_FILE });

  const measured = bundles.map((b) => measure(b, work));
  const load = loadavg()[0]!;
  for (const m of measured) {
    const verdict = m.lambda ? (m.importMs <= GOAL_IMPORT_MS ? `goal ≤ ${GOAL_IMPORT_MS} ms met` : `over the ${GOAL_IMPORT_MS} ms goal`) : 'not a Lambda, for information';
    process.stderr.write(
      `${m.name.padEnd(10)} ${(m.bytes / 1024).toFixed(0).padStart(5)} KiB in ${m.files} file(s), import ${m.importMs.toFixed(0)} ms median of ${runs} [${m.runsMs.map((ms) => ms.toFixed(0)).join(' ')}], CPU ${m.cpuMs.toFixed(0)} ms: ${verdict}\n`,
    );
  }
  process.stderr.write(`node ${process.version}, load average ${load.toFixed(2)} (wall times: a busy machine makes them longer)\n`);
  console.log(JSON.stringify({ bundles: measured, goalImportMs: GOAL_IMPORT_MS, node: process.version, loadAverage1m: Math.round(load * 100) / 100 }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
