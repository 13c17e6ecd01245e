/**
 * What the CDK construct really creates, from a synthesized example stack (bundling skipped): the
 * alarm counts the cost model needs, and the resource types (for the cost test).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GROUP_NAME } from '../world/world';

/**
 * Alarm metrics the CDK construct really creates, from a synthesized example stack (bundling
 * skipped): high-resolution (period < 60 s) and standard, per AZ (named after an AZ) and
 * fleet-wide (each metric of a metric-math alarm is billed). Falls back to the simulator's mirror
 * of infra when the construct cannot be built.
 */
export async function constructAlarmCounts(azs: string[]): Promise<{ from: string; highResolutionAlarmsPerAz: number; standardAlarmsPerAz: number; standardAlarmMetrics: number }> {
  try {
    const { App } = await import('aws-cdk-lib');
    const { ExampleStack } = await import('../../infra/lib/example-stack');
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new ExampleStack(app, 'Bench', { env: { region: 'us-east-1' }, name: 'bench', availabilityZones: azs });
    const template = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
    const counts = { highPerAz: 0, standardPerAz: 0, standardFleet: 0, highFleet: 0 };
    for (const r of Object.values(template.Resources)) {
      if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
      const p = r.Properties as { Period?: number; AlarmName?: unknown; Metrics?: { MetricStat?: { Period?: number } }[] };
      const stats = p.Metrics?.filter((m) => m.MetricStat) ?? [];
      const periods = stats.length > 0 ? stats.map((m) => m.MetricStat!.Period ?? 60) : [p.Period ?? 60];
      const perAz = typeof p.AlarmName === 'string' && azs.some((az) => (p.AlarmName as string).endsWith(az));
      for (const period of periods) {
        const high = period < 60;
        if (perAz) counts[high ? 'highPerAz' : 'standardPerAz']++;
        else counts[high ? 'highFleet' : 'standardFleet']++;
      }
    }
    return {
      from: 'synthesized CDK construct (infra/lib/natbeat.ts)',
      highResolutionAlarmsPerAz: (counts.highPerAz + counts.highFleet) / azs.length,
      standardAlarmsPerAz: counts.standardPerAz / azs.length,
      standardAlarmMetrics: counts.standardFleet,
    };
  } catch (error) {
    console.error(`cannot synthesize the construct (${error instanceof Error ? error.message : String(error)}); using the simulator's alarms`);
    return { from: `simulator mirror (${GROUP_NAME}: 1 trigger, 1 page per AZ)`, highResolutionAlarmsPerAz: 1, standardAlarmsPerAz: 1, standardAlarmMetrics: 7 };
  }
}


/**
 * The same counts, synthesized in a child process so that the CDK's heavy import and synthesis
 * overlap the trials instead of following them; in-process if the child cannot run.
 */
export function constructAlarmCountsInChild(azs: string[]): Promise<Awaited<ReturnType<typeof constructAlarmCounts>>> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...azs], { maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error) return resolve(constructAlarmCounts(azs));
      try {
        resolve(JSON.parse(stdout) as Awaited<ReturnType<typeof constructAlarmCounts>>);
      } catch {
        resolve(constructAlarmCounts(azs));
      }
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void constructAlarmCounts(process.argv.slice(2)).then((counts) => {
    console.log(JSON.stringify(counts));
    process.exit(0);
  });
}
