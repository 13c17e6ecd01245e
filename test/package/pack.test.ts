/**
 * The npm package as a user gets it: `npm pack` (which builds the bundles in `prepack`), installed
 * offline from the tarball into a fresh CDK app outside the checkout, compiled with the app's own
 * TypeScript settings (NodeNext) against the package's declarations, and synthesized with the CDK
 * CLI and cdk-nag, once with `NatBeatProvider` on an `ec2.Vpc` and once with `NatBeat` on a VPC of
 * the app's own. The peers (aws-cdk-lib, constructs, cdk-nag) are linked from this checkout's
 * install, as an app would already have them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const ZONES = ['us-east-1a', 'us-east-1b'];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string; status: number } {
  const result = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { stdout: result.stdout, stderr: result.stderr, status: result.status ?? -1 };
}

function mustRun(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): string {
  const r = run(cmd, args, cwd, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const APP_SOURCE = `
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AwsSolutionsChecks } from 'cdk-nag';
import { NatBeat, NatBeatProvider, type NatBeatProps } from 'natbeat';

const app = new App();
const zones = ${JSON.stringify(ZONES)};
const env = { region: 'us-east-1' };

// A VPC as an app that heeds cdk-nag has it: rejected flows logged, the default group unused.
function withFlowLog(vpc: ec2.Vpc): ec2.Vpc {
  vpc.addFlowLog('Rejected', { trafficType: ec2.FlowLogTrafficType.REJECT });
  return vpc;
}

const provided = new Stack(app, 'WithProvider', { env });
const provider = NatBeatProvider.instances({ alarmEmail: 'ops@example.com' });
withFlowLog(new ec2.Vpc(provided, 'Vpc', { availabilityZones: zones, natGatewayProvider: provider, restrictDefaultSecurityGroup: false }));
provider.natBeat.autoScalingGroup;

const own = new Stack(app, 'WithConstruct', { env });
const vpc = withFlowLog(new ec2.Vpc(own, 'Vpc', {
  availabilityZones: zones,
  natGateways: 0,
  restrictDefaultSecurityGroup: false,
  subnetConfiguration: [
    { name: 'public', subnetType: ec2.SubnetType.PUBLIC },
    { name: 'private', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  ],
}));
const props: NatBeatProps = { vpc, dryRun: true };
new NatBeat(own, 'NatBeat', props);

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
`;

const TSCONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, outDir: 'build', types: [] },
  files: ['app.ts'],
};

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] }> };

describe('the npm package, installed into a fresh CDK app', { timeout: 600_000 }, () => {
  let work: string;
  let app: string;
  let tarball: string;
  let synth: { stdout: string; stderr: string; status: number };
  const template = (stack: string): Template => JSON.parse(readFileSync(path.join(app, 'cdk.out', `${stack}.template.json`), 'utf8')) as Template;
  const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);

  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'natbeat-pack-'));
    app = path.join(work, 'app');
    // prepack (the build) writes to stdout too, so the tarball is found by its name, not by --json.
    mustRun('npm', ['pack', '--pack-destination', work], REPO);
    tarball = path.join(work, `natbeat-${VERSION}.tgz`);
    mustRun('mkdir', ['-p', app], work);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'natbeat-pack-check', private: true, type: 'module' }));
    // Offline, from the tarball alone (natbeat has no dependencies of its own); the peers are the app's.
    mustRun('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--legacy-peer-deps', tarball], app);
    for (const peer of ['aws-cdk-lib', 'constructs', 'cdk-nag']) {
      symlinkSync(path.join(REPO, 'node_modules', peer), path.join(app, 'node_modules', peer), 'dir');
    }
    writeFileSync(path.join(app, 'app.ts'), APP_SOURCE);
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    mustRun(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
    synth = run(path.join(REPO, 'node_modules/.bin/cdk'), ['synth', '--app', 'node build/app.js', '-o', 'cdk.out', '--no-notices', '--quiet'], app);
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the built bundles, the library and its declarations, and no sources', () => {
    const files = mustRun('tar', ['tzf', tarball], work).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/lib/index.mjs',
        'dist/types/infra/lib/index.d.ts',
        'dist/lambdas/reconcile/index.mjs',
        'dist/lambdas/intake/index.mjs',
        'dist/agent/natbeat-agent.mjs',
        'dist/agent/install.sh',
        'dist/agent/natbeat-agent.service',
        'dist/cli/natbeat.mjs',
        'bin/natbeat.mjs',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.some((f) => f.startsWith('test/'))).toBe(false);
  });

  it('synthesizes both apps with the CDK CLI, offline and with cdk-nag, with no source root', () => {
    expect(synth.stderr + synth.stdout).not.toMatch(/LockFile|Bundling asset/);
    // stderr comes with the status, so a failing synth shows why.
    expect({ status: synth.status, stderr: synth.stderr }).toEqual({ status: 0, stderr: expect.any(String) as string });
  });

  it('gives an ec2.Vpc natbeat through its NAT provider: one NAT per zone, no NAT gateway, no route written by CloudFormation', () => {
    const t = template('WithProvider');
    expect(ofType(t, 'AWS::EC2::NatGateway')).toEqual([]);
    const groups = ofType(t, 'AWS::AutoScaling::AutoScalingGroup');
    expect(groups).toHaveLength(1);
    expect(groups[0]![1].Properties).toMatchObject({ MinSize: String(ZONES.length), MaxSize: String(ZONES.length * 2) });
    // The NATs wait for their subnets' route to the internet: they fetch the agent at boot.
    const publicRoutes = ofType(t, 'AWS::EC2::Route').map(([id]) => id);
    expect(publicRoutes).toHaveLength(ZONES.length);
    expect(groups[0]![1].DependsOn).toEqual(expect.arrayContaining(publicRoutes));
    const privateTables = ofType(t, 'AWS::EC2::RouteTable').filter(([id]) => id.includes('Private'));
    expect(privateTables).toHaveLength(ZONES.length);
    for (const [, table] of privateTables) expect(table.Properties?.Tags).toEqual(expect.arrayContaining([expect.objectContaining({ Key: 'natbeat:deployment' })]));
    const routedTables = ofType(t, 'AWS::EC2::Route').map(([, r]) => JSON.stringify(r.Properties?.RouteTableId));
    for (const [id] of privateTables) expect(routedTables).not.toContain(JSON.stringify({ Ref: id }));
  });

  it('runs the Lambdas and the agent from the bundles in the package', () => {
    for (const stack of ['WithProvider', 'WithConstruct']) {
      const t = template(stack);
      const functions = ofType(t, 'AWS::Lambda::Function');
      expect(functions.map(([, f]) => f.Properties)).toEqual([
        expect.objectContaining({ Handler: 'index.handler', Runtime: 'nodejs22.x' }),
        expect.objectContaining({ Handler: 'index.handler', Runtime: 'nodejs22.x' }),
      ]);
    }
    const assets = readdirSync(path.join(app, 'cdk.out')).filter((f) => f.startsWith('asset.'));
    const contents = assets.map((a) => readdirSync(path.join(app, 'cdk.out', a)).sort().join(' '));
    expect(contents).toEqual(expect.arrayContaining(['install.sh natbeat-agent.mjs natbeat-agent.service']));
    // A Lambda asset is a handler with the chunks it loads on demand: it must import on its own.
    const lambdaAssets = assets.filter((a) => existsSync(path.join(app, 'cdk.out', a, 'index.mjs')));
    expect(lambdaAssets.length).toBeGreaterThanOrEqual(2);
    for (const asset of lambdaAssets) {
      const dir = path.join(app, 'cdk.out', asset);
      expect(readdirSync(dir).filter((f) => f.endsWith('.mjs') && !readdirSync(dir).includes(`${f}.map`))).toEqual([]);
      const check = "const m = await import('./index.mjs'); if (typeof m.handler !== 'function') throw new Error('no handler');";
      expect(run(process.execPath, ['--input-type=module', '-e', check], dir, { AWS_REGION: 'us-east-1' })).toMatchObject({ status: 0 });
    }
  });

  it('uses the construct on the app\'s own VPC with the props it was given', () => {
    const t = template('WithConstruct');
    const reconcile = ofType(t, 'AWS::Lambda::Function').find(([id]) => id.includes('Reconcile'));
    expect(reconcile?.[1].Properties).toMatchObject({ Environment: { Variables: expect.objectContaining({ NATBEAT_DRY_RUN: 'true' }) } });
    expect(ofType(t, 'AWS::AutoScaling::AutoScalingGroup')).toHaveLength(1);
  });

  it('loads from a CommonJS app too (require of the ESM package, Node 20.19 and later)', () => {
    const loaded = mustRun(process.execPath, ['-e', "const n = require('natbeat'); console.log(typeof n.NatBeat, typeof n.NatBeatProvider)"], app);
    expect(loaded.trim()).toBe('function function');
  });

  it('installs the natbeat CLI as the package\'s bin', () => {
    expect(existsSync(path.join(app, 'node_modules/.bin/natbeat'))).toBe(true);
    const cost = run(path.join(app, 'node_modules/.bin/natbeat'), ['cost', '--azs', '2', '--json'], app);
    expect({ status: cost.status, stderr: cost.stderr }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(cost.stdout)).toMatchObject({ inputs: expect.objectContaining({ azs: 2 }) });
    const version = run(path.join(app, 'node_modules/.bin/natbeat'), ['--version'], app);
    expect(version.stdout.trim()).toBe(VERSION);
  });
});
