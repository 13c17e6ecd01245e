/**
 * `npm run demo`: natbeat's default story on the simulated AWS world. A scenario (default: three
 * AZs, one NAT stops forwarding) runs on the same world under natbeat and under the two
 * baselines; it prints natbeat's timeline and the egress gap per zone, and draws a picture.
 *
 *   npm run demo                              the default story
 *   npm run demo -- --scenario silent-death   a built-in scenario (or a path to a JSON file, or `all`)
 *   npm run demo -- --json                    one JSON object on stdout
 *   npm run demo -- --seed 7                  another draw of the random phases
 *   npm run demo -- --profile optimistic      the world's optimistic assumptions (default pessimistic)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ControlMode } from './nat';
import { DEFAULT_PROFILE, profileNamed } from './params';
import { renderSvg } from './render-svg';
import { runScenario, type RunResult } from './run';
import { builtinScenarioNames, loadScenario, type Scenario } from './scenario';
import { milestones } from './story';
import { collapseRepeats } from './timeline';

const MODES: ControlMode[] = ['natbeat', 'ec2StatusChecksOnly', 'takeoverAtBoot'];
const OUTPUT_DIR = 'sim-output';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'routing-failure' },
      json: { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      profile: { type: 'string', default: DEFAULT_PROFILE },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(`usage: npm run demo -- [--scenario NAME|FILE.json|all] [--json] [--seed N] [--profile pessimistic|optimistic]\nbuilt-in scenarios: ${builtinScenarioNames().join(', ')}`);
    return;
  }
  const seed = Number(values.seed);
  const profile = profileNamed(values.profile);
  const scenarios = values.scenario === 'all' ? builtinScenarioNames().map(loadScenario) : [loadScenario(values.scenario)];
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const reports = [];
  for (const scenario of scenarios) {
    const runs: RunResult[] = [];
    for (const mode of MODES) runs.push(await runScenario(scenario, mode, { seed, profile }));
    const picture = join(OUTPUT_DIR, `${scenario.name}.svg`);
    writeFileSync(picture, renderSvg(`${scenario.name}: ${scenario.description}`, runs));
    reports.push({ scenario, runs, picture });
    if (!values.json) printHuman(scenario, runs, picture, profile);
  }
  if (values.json) {
    console.log(
      JSON.stringify({
        seed,
        profile,
        scenarios: reports.map(({ scenario, runs, picture }) => {
          const by = (mode: ControlMode) => runs.find((r) => r.mode === mode)!;
          return {
            name: scenario.name,
            description: scenario.description,
            egressGapSeconds: Object.fromEntries(MODES.map((m) => [m, by(m).egressGapSeconds])),
            neverRepaired: Object.fromEntries(MODES.map((m) => [m, by(m).unrepaired])),
            gapByZone: Object.fromEntries(MODES.map((m) => [m, by(m).gapByZone])),
            watchedSeconds: scenario.durationSeconds,
            milestones: milestones(by('natbeat')),
            invariants: by('natbeat').invariants,
            reconcileRuns: by('natbeat').reconcileRuns,
            picture: resolve(picture),
          };
        }),
      }),
    );
  }
}

function printHuman(scenario: Scenario, runs: RunResult[], picture: string, profile: string): void {
  const natbeat = runs.find((r) => r.mode === 'natbeat')!;
  const fault = natbeat.faultAtMs;
  console.log(`\n=== ${scenario.name}: ${scenario.description} (${profile} assumptions)`);
  console.log(`\nnatbeat timeline (t = seconds after the fault; real Lambda handlers and agent code on a simulated AWS world)`);
  for (const e of collapseRepeats(natbeat.timeline.filter((e) => e.atMs >= fault - 1000))) {
    const t = ((e.atMs - fault) / 1000).toFixed(1).padStart(7);
    const times = e.repeats > 1 ? ` … ×${e.repeats} until ${((e.lastAtMs - fault) / 1000).toFixed(1)} s` : '';
    console.log(`${t}  ${e.kind.padEnd(9)} ${(e.zone ?? '').padEnd(11)} ${e.message}${times}`);
  }
  console.log('\nmilestones:');
  for (const m of milestones(natbeat)) console.log(`  ${m.label.padEnd(21)} +${m.atSeconds} s`);
  console.log(`\negress gap per zone (seconds without internet, ${scenario.durationSeconds} s watched after the fault):`);
  const zones = [...new Set(runs.flatMap((r) => Object.keys(r.gapByZone)))].sort();
  const header = ['zone', 'natbeat', 'EC2 status checks only', 'takeover at boot'];
  const rows = zones.map((zone) => [
    zone,
    ...runs.map((r) => {
      const gap = r.gapByZone[zone] ?? 0;
      const open = r.timeline.some((e) => e.kind === 'egress' && e.zone === zone) && gap >= scenario.durationSeconds - 1;
      return open ? `${gap}+ (never repaired)` : String(gap);
    }),
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  for (const row of [header, ...rows]) console.log(`  ${row.map((c, k) => c.padEnd(widths[k]!)).join('  ')}`);
  const inv = natbeat.invariants;
  console.log(
    `\nnatbeat checks: routing NATs marked ${inv.routingNatsMarked.length}, tables broken at end ${inv.brokenTablesAtEnd.length}, converged within 2 reconciles: ${inv.convergence?.converged ? 'yes' : 'NO'}, reconcile runs ${natbeat.reconcileRuns}`,
  );
  console.log(`connections reset by route changes: ${natbeat.flowsReset} (${natbeat.routeMoves.length} move(s) traffic followed)`);
  console.log(`picture: ${resolve(picture)}`);
}

main()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
