import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/build-agent';

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'agent/install.sh');

describe('Script: agent/install.sh (staged under NATBEAT_INSTALL_ROOT)', () => {
  let dir = '';
  let bundle = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'natbeat-install-'));
    bundle = join(dir, 'natbeat-agent.mjs');
    await writeFile(bundle, '// bundle');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const install = (...args: string[]) => run('bash', [SCRIPT, ...args], { env: { ...process.env, NATBEAT_INSTALL_ROOT: join(dir, 'root') } });

  it('copies the bundle and the unit, and writes the settings to the environment file', async () => {
    await install(bundle, 'NATBEAT_PROBE_TARGET=192.0.2.1:443', 'NATBEAT_GROUP_NAME=nat asg');
    expect(await readFile(join(dir, 'root/opt/natbeat/natbeat-agent.mjs'), 'utf8')).toBe('// bundle');
    const unit = await readFile(join(dir, 'root/etc/systemd/system/natbeat-agent.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/bin/node /opt/natbeat/natbeat-agent.mjs run');
    expect(unit).toContain('ExecStartPre=+/usr/bin/node /opt/natbeat/natbeat-agent.mjs setup');
    expect(unit).toContain('EnvironmentFile=-/etc/natbeat/agent.env');
    expect(unit).toContain('Restart=always');
    const env = await readFile(join(dir, 'root/etc/natbeat/agent.env'), 'utf8');
    expect(env).toContain('NATBEAT_PROBE_TARGET="192.0.2.1:443"\nNATBEAT_GROUP_NAME="nat asg"\n');
    expect((await stat(join(dir, 'root/etc/natbeat/agent.env'))).mode & 0o777).toBe(0o644);
  });

  it.each([
    [['KEY_ONLY'], 'expected KEY=VALUE'],
    [['PATH=/tmp'], 'unsupported key PATH'],
    [['NATBEAT_GROUP_NAME=a"b'], 'must not contain newlines, quotes or backslashes'],
  ])('rejects %j before installing anything', async (settings, message) => {
    await expect(install(bundle, ...settings)).rejects.toThrow(message);
    await expect(stat(join(dir, 'root'))).rejects.toThrow('ENOENT');
  });

  it('fails on a missing bundle', async () => {
    await expect(install(join(dir, 'nope.mjs'))).rejects.toThrow('bundle not found');
  });
});
