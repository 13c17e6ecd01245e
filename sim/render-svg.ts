/**
 * A picture of a scenario: per control scheme and zone, a bar over the whole run that is green
 * while the zone's traffic leaves through a NAT in its own zone, amber while it is served by a
 * NAT in another zone, and red while it has no egress; natbeat's events (faults, the agent's
 * detection and report, alarms, controller runs, routes, connections reset) listed underneath,
 * each on its own row with a dot on the time axis.
 */
import type { RunResult } from './run';
import { collapseRepeats, type TimelineEntry } from './timeline';

const MODE_LABEL: Record<string, string> = {
  natbeat: 'natbeat',
  ec2StatusChecksOnly: 'EC2 status checks only',
  takeoverAtBoot: 'takeover at boot',
};

const KIND_COLOUR: Record<string, string> = {
  fault: '#b00020',
  heartbeat: '#6a1b9a',
  alarm: '#e65100',
  lambda: '#00838f',
  route: '#1565c0',
  flows: '#5d4037',
  asg: '#37474f',
  nat: '#455a64',
};

const KIND_LABEL: Record<string, string> = {
  fault: 'fault',
  heartbeat: 'agent: detection, report, proof',
  alarm: 'alarm',
  lambda: 'controller run',
  route: 'route written',
  flows: 'traffic follows (connections reset)',
  asg: 'Auto Scaling',
  nat: 'NAT',
};

const SERVICE_COLOUR = { own: '#2e7d32', cross: '#f9a825', none: '#c62828' };

const WIDTH = 1100;
const LEFT = 230;
const PLOT = WIDTH - LEFT - 20;
const CHAR_PX = 6.1; // average glyph width at font-size 11

export function renderSvg(title: string, runs: RunResult[]): string {
  const natbeat = runs.find((r) => r.mode === 'natbeat') ?? runs[0]!;
  const fault = natbeat.faultAtMs;
  const t0 = fault - 10_000;
  const t1 = Math.max(...runs.map((r) => r.endMs));
  const x = (ms: number) => LEFT + ((Math.min(Math.max(ms, t0), t1) - t0) / (t1 - t0)) * PLOT;
  const zones = allZones(runs);
  const rowH = 18;
  let y = 50;
  const parts: string[] = [];
  parts.push(`<text x="10" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`);
  for (const run of runs) {
    parts.push(`<text x="10" y="${y + 13}" font-size="13" font-weight="bold">${esc(MODE_LABEL[run.mode] ?? run.mode)} — worst gap ${run.egressGapSeconds}${run.unrepaired ? '+ s (never repaired)' : ' s'}</text>`);
    y += rowH + 2;
    for (const zone of zones) {
      parts.push(`<text x="24" y="${y + 12}" font-size="12">${esc(zone)}</text>`);
      parts.push(`<rect x="${LEFT}" y="${y}" width="${PLOT}" height="${rowH - 4}" fill="${SERVICE_COLOUR.own}"/>`);
      for (const span of crossZoneSpans(run, zone)) {
        const a = x(span.from);
        const b = x(span.to ?? run.endMs);
        parts.push(`<rect x="${a}" y="${y}" width="${Math.max(1, b - a)}" height="${rowH - 4}" fill="${SERVICE_COLOUR.cross}"><title>${esc(zone)}: served from ${esc(span.by)} ${secs(span.from, fault)} → ${span.to ? secs(span.to, fault) : 'end'}</title></rect>`);
      }
      for (const gap of gapsOf(run, zone)) {
        const a = x(gap.from);
        const b = x(gap.to ?? run.endMs);
        parts.push(`<rect x="${a}" y="${y}" width="${Math.max(1, b - a)}" height="${rowH - 4}" fill="${SERVICE_COLOUR.none}"><title>${esc(zone)}: no egress ${secs(gap.from, fault)} → ${gap.to ? secs(gap.to, fault) : 'end'}</title></rect>`);
      }
      y += rowH;
    }
    y += 8;
  }
  y = axis(parts, y, x, t0, t1, fault);
  y = legend(parts, y);

  const events = collapseRepeats(natbeat.timeline.filter((e) => e.atMs >= fault - 5000 && e.kind !== 'egress'));
  parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">natbeat events (t = seconds after the fault)</text>`);
  y += 8;
  for (const e of events) {
    y += 15;
    const px = x(e.atMs);
    const colour = KIND_COLOUR[e.kind] ?? '#000';
    parts.push(`<line x1="${LEFT}" y1="${y - 4}" x2="${LEFT + PLOT}" y2="${y - 4}" stroke="#eee"/>`);
    parts.push(`<circle cx="${px}" cy="${y - 4}" r="4" fill="${colour}"/>`);
    parts.push(`<text x="10" y="${y}" font-size="11" fill="${colour}">${secs(e.atMs, fault)} ${esc(e.kind)}</text>`);
    const repeats = e.repeats > 1 ? ` … ×${e.repeats} until ${secs(e.lastAtMs, fault)}` : '';
    // Labels go right of their dot, or left of it when the right side has no room: never cut.
    const label = `${e.zone ? `[${e.zone}] ` : ''}${e.message}${repeats}`;
    const room = Math.max(px - LEFT, LEFT + PLOT - px) - 10;
    const text = truncate(label, Math.floor(room / CHAR_PX));
    const right = LEFT + PLOT - px - 10 >= text.length * CHAR_PX;
    parts.push(`<text x="${right ? px + 8 : px - 8}" y="${y}" font-size="11" text-anchor="${right ? 'start' : 'end'}">${esc(text)}<title>${esc(label)}</title></text>`);
  }
  const height = y + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}

/** The time axis over the whole run; returns the y below it. */
function axis(parts: string[], y: number, x: (ms: number) => number, t0: number, t1: number, fault: number): number {
  parts.push(`<line x1="${LEFT}" y1="${y}" x2="${LEFT + PLOT}" y2="${y}" stroke="#000"/>`);
  const step = niceStep((t1 - t0) / 1000);
  for (let s = Math.ceil((t0 - fault) / 1000 / step) * step; s * 1000 + fault <= t1; s += step) {
    const px = x(fault + s * 1000);
    parts.push(`<line x1="${px}" y1="${y}" x2="${px}" y2="${y + 5}" stroke="#000"/><text x="${px}" y="${y + 17}" font-size="11" text-anchor="middle">${s} s</text>`);
  }
  return y + 36;
}

/** What the colours mean; returns the y below it. */
function legend(parts: string[], y: number): number {
  let lx = 10;
  const swatch = (colour: string, label: string, dot = false) => {
    parts.push(dot ? `<circle cx="${lx + 5}" cy="${y - 4}" r="4" fill="${colour}"/>` : `<rect x="${lx}" y="${y - 10}" width="12" height="10" fill="${colour}"/>`);
    parts.push(`<text x="${lx + 16}" y="${y}" font-size="11">${esc(label)}</text>`);
    lx += 16 + label.length * CHAR_PX + 14;
  };
  swatch(SERVICE_COLOUR.own, 'egress through its own zone’s NAT');
  swatch(SERVICE_COLOUR.cross, 'egress through another zone’s NAT');
  swatch(SERVICE_COLOUR.none, 'no egress');
  y += 18;
  lx = 10;
  for (const [kind, colour] of Object.entries(KIND_COLOUR)) {
    if (lx > WIDTH - 200) {
      y += 16;
      lx = 10;
    }
    swatch(colour, KIND_LABEL[kind] ?? kind, true);
  }
  return y + 28;
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

/** When the zone's traffic followed a route to a NAT in another zone (the `flows` entries). */
function crossZoneSpans(run: RunResult, zone: string): { from: number; to?: number; by: string }[] {
  const out: { from: number; to?: number; by: string }[] = [];
  for (const e of run.timeline) {
    if (e.kind !== 'flows' || e.zone !== zone) continue;
    const served = /\(([a-z0-9-]+)\):/.exec(e.message)?.[1];
    const open = out.at(-1);
    if (open && open.to === undefined) open.to = e.atMs;
    if (served && served !== zone) out.push({ from: e.atMs, by: served });
  }
  return out;
}

function secs(ms: number, fault: number): string {
  return `${((ms - fault) / 1000).toFixed(1)} s`;
}

function niceStep(spanSeconds: number): number {
  for (const s of [5, 10, 15, 30, 60, 120, 300, 600]) if (spanSeconds / s <= 14) return s;
  return 1200;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, Math.max(1, n - 1))}…` : s;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
