/**
 * docs/settings.md lists every construct prop and every context key of the example app (the
 * controller's and the agent's tables are checked in test/lambdas and test/agent).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (relative: string) => readFileSync(new URL(`../../${relative}`, import.meta.url), 'utf8');
const settingsPage = read('docs/settings.md');

describe('Document: docs/settings.md', () => {
  it('has a row for every NatBeatProps prop', () => {
    const source = read('infra/lib/settings.ts');
    const body = source.slice(source.indexOf('export interface NatBeatProps {'), source.indexOf('\n}\n', source.indexOf('export interface NatBeatProps {')));
    const props = [...body.matchAll(/^ {2}readonly (\w+)\??:/gm)].map((m) => m[1]!);
    expect(props.length).toBeGreaterThan(20);
    for (const prop of props) expect(settingsPage).toMatch(new RegExp(`^\\| \`${prop}\` \\|`, 'm'));
  });

  it('has a row for every context key the example app reads', () => {
    const source = read('infra/lib/example-stack.ts');
    const keys = [...new Set([...source.matchAll(/text\('(\w+)'\)/g)].map((m) => m[1]!))];
    expect(keys).toEqual(expect.arrayContaining(['name', 'azCount', 'instanceType']));
    for (const key of keys) expect(settingsPage).toMatch(new RegExp(`^\\| \`natbeat:${key}\` \\|`, 'm'));
  });
});
