/** The milestones of a failover, read off a natbeat run's timeline. */
import type { RunResult } from './run';

export interface Milestone {
  label: string;
  atSeconds: number;
  message: string;
}

const PATTERNS: { label: string; test: (message: string, kind: string) => boolean }[] = [
  { label: 'detection', test: (m, k) => (k === 'heartbeat' && m.includes('sent failing heartbeat')) || (k === 'alarm' && m.endsWith('→ ALARM')) },
  { label: 'failover', test: (m, k) => k === 'route' },
  { label: 'unhealthy mark', test: (m) => /Unhealthy/.test(m) && m.startsWith('SetInstanceHealth') },
  { label: 'replacement launched', test: (m, k) => k === 'asg' && m.startsWith('launching') },
  { label: 'proof', test: (m) => m.includes('first healthy heartbeat') },
];

export function milestones(run: RunResult): Milestone[] {
  const after = run.timeline.filter((e) => e.atMs >= run.faultAtMs);
  const rel = (ms: number) => Math.round((ms - run.faultAtMs) / 100) / 10;
  const out: Milestone[] = [];
  for (const p of PATTERNS) {
    const hit = after.find((e) => p.test(e.message, e.kind));
    if (hit) out.push({ label: p.label, atSeconds: rel(hit.atMs), message: hit.message });
  }
  // Failback: the last route write that brings a table back to a NAT in its own zone.
  const failback = [...after].reverse().find((e) => e.kind === 'route' && e.zone && e.message.endsWith(`(${e.zone})`));
  if (failback && failback !== after.find((e) => e.kind === 'route')) out.push({ label: 'failback', atSeconds: rel(failback.atMs), message: failback.message });
  const lost = after.filter((e) => e.kind === 'egress');
  for (const e of lost) out.push({ label: e.message === 'EGRESS LOST' ? 'egress lost' : 'egress back', atSeconds: rel(e.atMs), message: `${e.zone}: ${e.message}` });
  return out.sort((a, b) => a.atSeconds - b.atSeconds);
}
