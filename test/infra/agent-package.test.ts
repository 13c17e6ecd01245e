/**
 * The agent package a NAT downloads: what is in it, and the user data that refuses to run any of
 * it unless each file's sha256 matches the one synthesized into the launch template.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_INSTALL_FILE, AGENT_PACKAGE_FILES, stageAgentPackage } from '../../infra/lib/agent-asset';
import { NATBEAT_SOURCE_ROOT } from '../../infra/lib/settings';
import { buildExample } from './fixtures';

const INSTALL_DIR = '/opt/natbeat/package';

/** The launch template's user data as text (the intrinsic parts rendered as placeholders). */
function userDataText(template: Template): string {
  const [launchTemplate] = Object.values(template.findResources('AWS::EC2::LaunchTemplate')) as { Properties: { LaunchTemplateData: { UserData: unknown } } }[];
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const o = value as Record<string, unknown>;
    if ('Fn::Base64' in o) return render(o['Fn::Base64']);
    if ('Fn::Join' in o) return (o['Fn::Join'] as [string, unknown[]])[1].map(render).join((o['Fn::Join'] as [string])[0]);
    return '<ref>';
  };
  return render(launchTemplate!.Properties.LaunchTemplateData.UserData);
}

describe('Agent package and user data', () => {
  const { stack } = buildExample({ bundle: true });
  const lines = userDataText(Template.fromStack(stack)).split('\n');
  const checkLine = lines.find((line) => line.includes('sha256sum --check'));
  const staged = mkdtempSync(path.join(tmpdir(), 'natbeat-package-'));
  stageAgentPackage(NATBEAT_SOURCE_ROOT, staged);
  afterAll(() => rmSync(staged, { recursive: true, force: true }));

  /** Runs the user data's check line against a package directory. */
  const check = (dir: string) => spawnSync('bash', ['-euo', 'pipefail', '-c', checkLine!.replaceAll(INSTALL_DIR, dir)], { encoding: 'utf8' });

  it('ships the bundle, the unit and install.sh, and no source map', () => {
    expect(readdirSync(staged).sort()).toEqual([...AGENT_PACKAGE_FILES].sort());
  });

  it('checks every file of the package before install.sh runs', () => {
    expect(checkLine).toBeDefined();
    const checkAt = lines.indexOf(checkLine!);
    const installAt = lines.findIndex((line) => line.startsWith(`bash ${INSTALL_DIR}/${AGENT_INSTALL_FILE}`));
    expect(installAt).toBeGreaterThan(checkAt);
    // Only unzipping (which runs nothing) comes between the download and the check.
    expect(lines.slice(0, checkAt).some((line) => /^(bash|sh|node|source|\.) /.test(line))).toBe(false);
    for (const file of AGENT_PACKAGE_FILES) expect(checkLine).toMatch(new RegExp(`'[0-9a-f]{64}  ${file.replace('.', '\\.')}'`));
  });

  it('accepts the package synthesized with it, and refuses it after one byte changed', () => {
    const good = check(staged);
    expect(good.stdout + good.stderr).not.toMatch(/FAILED/);
    expect(good.status).toBe(0);

    appendFileSync(path.join(staged, AGENT_INSTALL_FILE), '\n');
    const tampered = check(staged);
    expect(tampered.stdout).toMatch(new RegExp(`${AGENT_INSTALL_FILE}: FAILED`));
    expect(tampered.status).not.toBe(0);
  });
});
