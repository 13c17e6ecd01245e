/**
 * A picture of a scenario: per control scheme and zone, a bar that is green while the zone has
 * internet egress and red while it has none; natbeat's controller events marked underneath.
 */
import type { RunResult } from './run';
import type { TimelineEntry } from './timeline';

const MODE_LABEL: Record<string, string> = {
  natbeat: 'natbeat',
  ec2StatusChecksOnly: 'EC2 status checks only',
  takeoverAtBoot: 'takeover at boot',
};

const KIND_COLOUR: Record<string, string> = {
  fault: '#b00020',
  heartbeat: '#6a1b9a',
  alarm: '#e65100',
  route: '#1565c0',
  asg: '#37474f',
  lambda: '#00838f',
};

export function renderSvg(title: string, runs: RunResult[]): string {
  const natbeat = runs.find((r) => r.mode === 'natbeat') ?? runs[0]!;
  const fault = natbeat.faultAtMs;
  const events = natbeat.timeline.filter((e) => e.atMs >= fault - 5000 && e.kind !== 'egress' && e.kind !== 'heartbeat');
  const lastInteresting = Math.max(fault + 120_000, ...events.map((e) => e.atMs));
  const t0 = fault - 10_000;
  const t1 = Math.min(natbeat.endMs, lastInteresting + 30_000);
  const left = 230;
  const width = 1100;
  const plot = width - left - 20;
  const x = (ms: number) => left + ((Math.min(Math.max(ms, t0), t1) - t0) / (t1 - t0)) * plot;
  const zones = Object.keys(natbeat.gapByZone).length > 0 ? allZones(runs) : [];
  const rowH = 18;
  let y = 50;
  const parts: string[] = [];
  parts.push(`<text x="10" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`);
  for (const run of runs) {
    parts.push(`<text x="10" y="${y + 13}" font-size="13" font-weight="bold">${esc(MODE_LABEL[run.mode] ?? run.mode)} — worst gap ${run.egressGapSeconds}${run.unrepaired ? '+ s (never repaired)' : ' s'}</text>`);
    y += rowH + 2;
    for (const zone of zones) {
      parts.push(`<text x="24" y="${y + 12}" font-size="12">${esc(zone)}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${plot}" height="${rowH - 4}" fill="#2e7d32"/>`);
      for (const gap of gapsOf(run, zone)) {
        const a = x(gap.from);
        const b = x(gap.to ?? run.endMs);
        parts.push(`<rect x="${a}" y="${y}" width="${Math.max(1, b - a)}" height="${rowH - 4}" fill="#c62828"><title>${esc(zone)}: no egress ${((gap.from - fault) / 1000).toFixed(1)} s → ${gap.to ? `${((gap.to - fault) / 1000).toFixed(1)} s` : 'end'}</title></rect>`);
      }
      y += rowH;
    }
    y += 8;
  }
  // Time axis.
  parts.push(`<line x1="${left}" y1="${y}" x2="${left + plot}" y2="${y}" stroke="#000"/>`);
  const step = niceStep((t1 - t0) / 1000);
  for (let s = Math.ceil((t0 - fault) / 1000 / step) * step; s * 1000 + fault <= t1; s += step) {
    const px = x(fault + s * 1000);
    parts.push(`<line x1="${px}" y1="${y}" x2="${px}" y2="${y + 5}" stroke="#000"/><text x="${px}" y="${y + 17}" font-size="11" text-anchor="middle">${s} s</text>`);
  }
  y += 30;
  parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">natbeat events (t = seconds after the fault)</text>`);
  y += 8;
  for (const e of events) {
    y += 15;
    const px = x(e.atMs);
    const colour = KIND_COLOUR[e.kind] ?? '#000';
    parts.push(`<circle cx="${px}" cy="${y - 4}" r="4" fill="${colour}"/>`);
    parts.push(`<text x="10" y="${y}" font-size="11" fill="${colour}">${((e.atMs - fault) / 1000).toFixed(1)} s ${esc(e.kind)}</text>`);
    parts.push(`<text x="${Math.min(px + 8, left + plot - 300)}" y="${y}" font-size="11">${esc(truncate(`${e.zone ? `[${e.zone}] ` : ''}${e.message}`, 110))}</text>`);
  }
  const height = y + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}

function allZones(runs: RunResult[]): string[] {
  return [...new Set(runs.flatMap((r) => Object.keys(r.gapByZone)))].sort();
}

function gapsOf(run: RunResult, zone: string): { from: number; to?: number }[] {
  // Rebuilt from the egress entries of the timeline (the run keeps no other copy).
  const out: { from: number; to?: number }[] = [];
  for (const e of run.timeline as TimelineEntry[]) {
    if (e.kind !== 'egress' || e.zone !== zone) continue;
    if (e.message === 'EGRESS LOST') out.push({ from: e.atMs });
    else if (out.length > 0 && out.at(-1)!.to === undefined) out.at(-1)!.to = e.atMs;
  }
  return out;
}

function niceStep(spanSeconds: number): number {
  for (const s of [5, 10, 15, 30, 60, 120, 300, 600]) if (spanSeconds / s <= 14) return s;
  return 1200;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
