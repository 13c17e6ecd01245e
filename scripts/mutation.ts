/**
 * `npm run mutation [-- FILE...]`: StrykerJS over the controller's core (decide, assess, act, observe) and
 * the agent's probes and setup, or over the files named. Prints one JSON object on stdout:
 * {"files":[{"file","mutants","killed","survived","noCoverage","timeout","score"}]}, where score is
 * (killed + timeout) / mutants in %. Mutants Stryker ignores (the excluded StringLiteral mutator)
 * are not counted. Stryker's own output and a summary table go to stderr.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const REPORT = process.env.NATBEAT_MUTATION_REPORT ?? 'reports/mutation/mutation.json';

interface MutantEntry {
  status: string;
}
interface Report {
  files: Record<string, { mutants: MutantEntry[] }>;
}

export interface FileScore {
  file: string;
  mutants: number;
  killed: number;
  survived: number;
  noCoverage: number;
  timeout: number;
  /** (killed + timeout) / mutants, in %, one decimal. */
  score: number;
}

/** Per-file counts from a mutation-testing-report-schema JSON report. */
export function scoreReport(report: Report): FileScore[] {
  return Object.entries(report.files)
    .map(([file, { mutants }]) => {
      const counted = mutants.filter((m) => m.status !== 'Ignored');
      const count = (status: string) => counted.filter((m) => m.status === status).length;
      const killed = count('Killed');
      const timeout = count('Timeout');
      const score = counted.length === 0 ? 100 : Math.round(((killed + timeout) / counted.length) * 1000) / 10;
      return { file, mutants: counted.length, killed, survived: count('Survived'), noCoverage: count('NoCoverage'), timeout, score };
    })
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/**
 * The suites that exercise each mutated file. Each mutant runs only the tests that cover it, but
 * every suite listed is loaded once per mutant: leaving out suites that merely pass through a file
 * (the handlers call decide, but decide's own tables decide its rules) keeps a run to minutes.
 */
const SUITES: [RegExp, string[]][] = [
  [/^lambdas\/core\/(decide|assess)\.ts$/, ['test/lambdas/decide*.test.ts']],
  [/^lambdas\/core\/act\.ts$/, ['test/lambdas/act*.test.ts', 'test/lambdas/handover.test.ts', 'test/lambdas/reconcile-*.test.ts', 'test/lambdas/lifecycle-handler.test.ts']],
  [/^lambdas\/core\/observe\.ts$/, ['test/lambdas/reconcile-*.test.ts', 'test/lambdas/lifecycle-handler.test.ts']],
  [/^agent\//, ['test/agent/probes*.test.ts', 'test/agent/egress-interface.test.ts', 'test/agent/setup*.test.ts', 'test/agent/parsers.test.ts', 'test/agent/probe-source.test.ts']],
];

/** The suites for the files named, or undefined (every suite of the mutation config) when none are. */
export function suitesFor(files: string[]): string[] | undefined {
  if (files.length === 0) return undefined;
  const suites = files.flatMap((file) => SUITES.find(([pattern]) => pattern.test(file))?.[1] ?? []);
  return suites.length === 0 ? undefined : [...new Set(suites)];
}

function runStryker(files: string[]): Promise<number> {
  const bin = join(dirname(createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js');
  const args = [bin, 'run', 'stryker.config.mjs', ...(files.length > 0 ? ['--mutate', files.join(',')] : [])];
  // Stryker logs on stdout; stdout of this script is reserved for the JSON result.
  // NATBEAT_MUTATION_TESTS (comma-separated globs) set by the caller wins.
  const suites = suitesFor(files);
  const env = suites && !process.env.NATBEAT_MUTATION_TESTS ? { ...process.env, NATBEAT_MUTATION_TESTS: suites.join(',') } : process.env;
  const child = spawn(process.execPath, args, { stdio: ['ignore', process.stderr, process.stderr], env });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  const files = process.argv.slice(2).filter((arg) => arg !== '--');
  await rm(REPORT, { force: true });
  const code = await runStryker(files);
  if (code !== 0) {
    console.error(`stryker exited ${code}`);
    process.exit(code);
  }
  const scores = scoreReport(JSON.parse(await readFile(REPORT, 'utf8')) as Report);
  console.error('\nfile | mutants | killed | survived | no coverage | timeout | score');
  for (const s of scores) console.error(`${s.file} | ${s.mutants} | ${s.killed} | ${s.survived} | ${s.noCoverage} | ${s.timeout} | ${s.score} %`);
  console.log(JSON.stringify({ files: scores }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
