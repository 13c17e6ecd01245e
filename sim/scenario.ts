/**
 * Scenario files: JSON, validated with zod. A scenario names its faults (times in seconds from
 * the fault epoch, zones by letter), how long to watch after them, and optional overrides of the
 * world's delays (`world`) and the controller's settings (`controller`). See docs/simulator.md.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const zone = z.string().regex(/^[a-z]$/, { error: 'zone is a letter: a, b, c…' });
const seconds = z.number().min(0);

export const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('stop-forwarding'), at: seconds, zone, restoreAt: seconds.optional() }).strict(),
  z.object({ kind: z.literal('hang'), at: seconds, zone }).strict(),
  z.object({ kind: z.literal('ec2-impaired'), at: seconds, zone }).strict(),
  z.object({ kind: z.literal('zone-outage'), at: seconds, zone, until: seconds }).strict(),
  z.object({ kind: z.literal('planned-replacement'), at: seconds, zone, order: z.enum(['launch-first', 'terminate-first']).optional() }).strict(),
  z.object({ kind: z.literal('broken-launches'), at: seconds, zone, until: seconds }).strict(),
  z.object({ kind: z.literal('cloudwatch-outage'), at: seconds, until: seconds, mode: z.enum(['reject', 'delay']).default('reject') }).strict(),
  z
    .object({
      kind: z.literal('throttling-storm'),
      at: seconds,
      until: seconds,
      share: z.number().min(0).max(1),
      services: z.array(z.enum(['ec2', 'autoscaling', 'cloudwatch'])).default(['ec2', 'autoscaling', 'cloudwatch']),
    })
    .strict(),
  z.object({ kind: z.literal('reconcile-crash'), at: seconds, afterMutatingCalls: z.number().int().min(1), times: z.number().int().min(1) }).strict(),
  z.object({ kind: z.literal('partition'), at: seconds, zone, until: seconds }).strict(),
  z
    .object({
      kind: z.literal('compromised'),
      at: seconds,
      zone,
      until: seconds.optional(),
      /** What it forges about its peers (default: all three). */
      forge: z.array(z.enum(['bodies', 'metrics', 'log'])).default(['bodies', 'metrics', 'log']),
      /** Its peer witness: lies (names every peer unreachable), withholds (names none), or is honest. */
      witness: z.enum(['honest', 'lie', 'withhold']).default('lie'),
    })
    .strict(),
  z.object({ kind: z.literal('flap'), at: seconds, zone, until: seconds, downSeconds: z.number().positive(), upSeconds: z.number().positive() }).strict(),
]);
export type Fault = z.infer<typeof faultSchema>;

export const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/, { error: 'name: lowercase letters, digits and dashes' }),
    description: z.string(),
    zones: z.number().int().min(1).max(6).default(3),
    warmupSeconds: z.number().min(90).default(150),
    durationSeconds: z.number().positive().default(900),
    faults: z.array(faultSchema).min(1),
    /** Lifecycle events: best effort; here they can be made worse. */
    lifecycleEvents: z.object({ loss: z.number().min(0).max(1).default(0), duplicate: z.number().min(0).max(1).default(0), reorderSeconds: z.number().min(0).default(0) }).strict().optional(),
    /** Overrides of WorldParams (sim/params.ts). */
    world: z.record(z.string(), z.unknown()).optional(),
    /** Overrides of the controller's settings (lambdas/core/config.ts field names). */
    controller: z.record(z.string(), z.unknown()).optional(),
    /** Zones whose private workloads are themselves down during the run (not counted in the gap). */
    workloadsDownIn: z.array(zone).optional(),
  })
  .strict();
export type Scenario = z.infer<typeof scenarioSchema>;

const here = dirname(fileURLToPath(import.meta.url));
export const SCENARIO_DIR = join(here, 'scenarios');

export function parseScenario(raw: unknown, source: string): Scenario {
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(scenario)'}: ${i.message}`).join('; ');
    throw new Error(`invalid scenario ${source}: ${problems}`);
  }
  for (const fault of parsed.data.faults) {
    if ('zone' in fault && fault.zone.charCodeAt(0) - 97 >= parsed.data.zones) {
      throw new Error(`invalid scenario ${source}: fault ${fault.kind} names zone ${fault.zone}, but there are ${parsed.data.zones} zones`);
    }
  }
  return parsed.data;
}

/** A built-in scenario by name, or a JSON file by path. */
export function loadScenario(nameOrFile: string): Scenario {
  const file = nameOrFile.endsWith('.json') ? nameOrFile : join(SCENARIO_DIR, `${nameOrFile}.json`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no scenario "${nameOrFile}"; built-in ones: ${builtinScenarioNames().join(', ')}`);
  }
  return parseScenario(JSON.parse(text), basename(file));
}

export function builtinScenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}
