/** Runs every probe once, in parallel, each bounded by the probe timeout; never throws. */
import { errorMessage } from './errors';
import type { Probe } from './probes/types';

export interface ProbeResult {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export interface ProbeReport {
  healthy: boolean;
  probes: ProbeResult[];
}

async function runOne(probe: Probe, timeoutMs: number, now: () => number): Promise<ProbeResult> {
  const started = now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ ok: boolean; detail: string }>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, detail: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      probe.run(controller.signal).catch((error: unknown) => ({ ok: false, detail: errorMessage(error) })),
      timeout,
    ]);
    return { name: probe.name, ...outcome, ms: Math.round(now() - started) };
  } finally {
    clearTimeout(timer);
    controller.abort(); // release whatever the probe still holds
  }
}

export async function runProbes(probes: readonly Probe[], timeoutMs: number, now: () => number = () => performance.now()): Promise<ProbeReport> {
  const results = await Promise.all(probes.map((probe) => runOne(probe, timeoutMs, now)));
  return { healthy: results.every((result) => result.ok), probes: results };
}

export function failingProbes(report: ProbeReport): ProbeResult[] {
  return report.probes.filter((probe) => !probe.ok);
}

/** The human-readable form of `check`. */
export function formatReport(report: ProbeReport): string {
  const lines = report.probes.map(
    (probe) => `${probe.ok ? 'PASS' : 'FAIL'}  ${probe.name.padEnd(13)} ${String(probe.ms).padStart(5)} ms  ${probe.detail}`,
  );
  lines.push(report.healthy ? 'healthy: every probe passed' : `UNHEALTHY: ${failingProbes(report).map((probe) => probe.name).join(', ')} failed`);
  return lines.join('\n');
}
