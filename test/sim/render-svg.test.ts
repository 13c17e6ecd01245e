import { describe, expect, it } from 'vitest';
import { renderSvg } from '../../sim/render-svg';
import { runScenario } from '../../sim/run';
import { loadScenario } from '../../sim/scenario';
import { collapseRepeats } from '../../sim/timeline';

describe('Function: renderSvg', async () => {
  const scenario = loadScenario('routing-failure');
  const run = await runScenario(scenario, 'natbeat', { seed: 1 });
  const svg = renderSvg('routing-failure', [run]);

  it('draws the time axis over the whole run', () => {
    const ticks = [...svg.matchAll(/text-anchor="middle">(-?\d+) s</g)].map((m) => Number(m[1]));
    expect(Math.max(...ticks)).toBeGreaterThanOrEqual(scenario.durationSeconds - 60);
  });

  it('has a legend for the bar colours, including cross-zone service, and draws a cross-zone span', () => {
    expect(svg).toContain('egress through another zone’s NAT');
    expect(svg).toContain('no egress');
    expect(svg).toMatch(/served from us-east-1[bc]/);
  });

  it('lists the agent’s detection and report among the events', () => {
    // The failing heartbeat is the report: the intake writes it and wakes reconcile.
    expect(svg).toContain('routing unhealthy');
    expect(svg).toContain('sent failing heartbeat');
  });

  it('keeps every event label inside the picture', () => {
    const width = Number(/<svg [^>]*width="(\d+)"/.exec(svg)![1]);
    const labels = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" font-size="11" text-anchor="(start|end)">([^<]*)</g)];
    expect(labels.length).toBeGreaterThan(10);
    for (const m of labels) {
      const x = Number(m[1]);
      const length = m[3]!.length * 6.1;
      if (m[2] === 'start') expect(x + length).toBeLessThanOrEqual(width);
      else expect(x - length).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('Function: collapseRepeats', () => {
  it('collapses an agent’s repeated failing heartbeats into one entry with a count', () => {
    const beat = (atMs: number) => ({ atMs, kind: 'heartbeat' as const, zone: 'a', message: 'published failing heartbeat (0)' });
    const out = collapseRepeats([beat(0), beat(10), { atMs: 15, kind: 'alarm', zone: 'b', message: 'x' }, beat(20), { atMs: 25, kind: 'route', zone: 'a', message: 'moved' }, beat(30)]);
    expect(out.map((e) => [e.message, e.repeats, e.lastAtMs])).toEqual([
      ['published failing heartbeat (0)', 3, 20],
      ['x', 1, 15],
      ['moved', 1, 25],
      ['published failing heartbeat (0)', 1, 30],
    ]);
  });
});
