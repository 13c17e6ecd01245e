import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const outdir = mkdtempSync(path.join(tmpdir(), 'natbeat-app-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('App: infra/bin/app.ts', () => {
  it('synthesizes offline, with no AWS configuration, and passes its own cdk-nag gate', { timeout: 120_000 }, () => {
    const cdkJson = JSON.parse(readFileSync(path.join(root, 'cdk.json'), 'utf8')) as { app: string; context: Record<string, unknown> };
    expect(cdkJson.app).toBe('npx tsx infra/bin/app.ts');
    // What the CLI does for `cdk synth`: run the app with an output directory and cdk.json's context.
    const run = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['infra/bin/app.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        HOME: outdir,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(cdkJson.context),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
    expect(run.stderr).not.toMatch(/ERROR|Validation failed/);
    expect(run.status).toBe(0);
    expect(readdirSync(outdir)).toContain('NatBeatExample.template.json');
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
    };
    // A failing plugin (AwsSolutions included) would have stopped the synth above; none may warn.
    expect(report.pluginReports.filter((r) => r.conclusion !== 'success')).toEqual([]);
    expect(report.pluginReports.flatMap((r) => r.violations)).toEqual([]);
  });

  it.each([
    [{ 'natbeat:azCount': '9' }, 'natbeat: natbeat:azCount must be a whole number from 1 to 6 (got "9")'],
    [{ 'natbeat:instanceType': 'bogus' }, 'natbeat: natbeat:instanceType must be an EC2 instance type such as t4g.nano (got "bogus")'],
    [{ 'natbeat:alarmEmail': 'ops.example.com' }, 'natbeat: alarmEmail must be an e-mail address (got "ops.example.com")'],
  ])('stops on a bad setting %j with its message and no stack trace', { timeout: 120_000 }, (context, message) => {
    const run = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['infra/bin/app.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: outdir, CDK_OUTDIR: path.join(outdir, 'bad'), CDK_CONTEXT_JSON: JSON.stringify(context), AWS_EC2_METADATA_DISABLED: 'true' },
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`${message}\n`);
  });
});
