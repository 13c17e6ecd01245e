import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../cli/run';
import type { FleetView } from '../../cli/fleet-view';
import { beating, captureIo, mockWorld } from './mock-world';

const A = { id: 'i-0aaa', az: 'us-east-1a', beatsAgo: beating(3) };
const TABLES = [{ id: 'rtb-0a', az: 'us-east-1a', to: 'i-0aaa' }];

function awsError(name: string, message: string) {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

let world: ReturnType<typeof mockWorld> | undefined;
afterEach(() => world?.restore());

describe('natbeat errors and exit codes', () => {
  it('explains missing credentials', async () => {
    world = mockWorld([A], TABLES);
    world.autoScaling.on(DescribeAutoScalingGroupsCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const io = captureIo();
    expect(await run(['status'], io)).toBe(1);
    expect(io.err()).toContain('natbeat: no AWS credentials found: set AWS_PROFILE');
  });

  it('names the permission that was denied (ec2:DescribeRouteTables)', async () => {
    world = mockWorld([A], TABLES);
    world.ec2.on(DescribeRouteTablesCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
    const io = captureIo();
    expect(await run(['plan'], io)).toBe(1);
    expect(io.err()).toContain('access denied: the credentials lack the permission ec2:DescribeRouteTables (UnauthorizedOperation');
  });

  it('reports a denied report-log read as an alert naming dynamodb:Query', async () => {
    world = mockWorld([A], TABLES);
    world.dynamoDb.on(QueryCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform: dynamodb:Query'));
    const io = captureIo();
    expect(await run(['status', '--json'], io)).toBe(1);
    const view = JSON.parse(io.out()) as FleetView;
    const alert = view.alerts.find((a) => a.message.includes('heartbeats'))!;
    expect(alert.message).toContain('the credentials lack the permission dynamodb:Query');
  });

  it('reports throttling that outlasted the retries', async () => {
    world = mockWorld([A], TABLES);
    world.autoScaling.on(DescribeAutoScalingGroupsCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    const io = captureIo();
    expect(await run(['status'], io)).toBe(1);
    expect(io.err()).toContain('AWS throttled autoscaling:DescribeAutoScalingGroups even after retries');
    expect(io.err()).toContain('NATBEAT_MAX_ATTEMPTS');
  });

  it('says which tag it searched when no managed group exists', async () => {
    world = mockWorld([A], TABLES);
    world.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    const io = captureIo();
    expect(await run(['status'], io)).toBe(1);
    expect(io.err()).toContain('no managed NAT groups found: searched Auto Scaling groups tagged natbeat:managed=true');
    const named = captureIo({ env: { NATBEAT_GROUP_NAMES: 'a-asg,b-asg' } });
    await run(['status'], named);
    expect(named.err()).toContain('searched Auto Scaling groups named a-asg, b-asg (NATBEAT_GROUP_NAMES)');
  });

  it('exits 2 on a bad setting, naming the variable', async () => {
    const io = captureIo({ env: { NATBEAT_SILENCE_SECONDS: 'soon' } });
    expect(await run(['status'], io)).toBe(2);
    expect(io.err()).toContain('NATBEAT_SILENCE_SECONDS="soon"');
  });

  it('exits 2 without the report table, saying what to set', async () => {
    const io = captureIo({ env: { NATBEAT_REPORT_TABLE: undefined } });
    expect(await run(['plan'], io)).toBe(2);
    expect(io.err()).toContain(`NATBEAT_REPORT_TABLE="": must be set to the name of the deployment's report table`);
  });

  it.each([
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['status', '--bogus'], "Unknown option '--bogus'"],
    [['status', '--group'], "Option '--group <value>' argument missing"],
    [['plan', '--region', 'mars'], '--region "mars" is not a region name'],
    [['status', '--color', '--no-color'], '--color and --no-color cannot both be given'],
    [['cost', '--azs', 'three'], '--azs must be a number (got "three")'],
    [['cost', '--azs', '0'], '--azs must be a whole number ≥ 1 (got 0)'],
    [['cost', '--interval=-5'], '--interval must be a whole number from 1 to 300 (got -5)'],
    [['cost', '--interval', '-5'], '--interval must be a whole number from 1 to 300 (got -5)'],
    [['cost', '--azs', '-3'], '--azs must be a whole number ≥ 1 (got -3)'],
    [['cost', '--interval', '100000'], '--interval must be a whole number from 1 to 300 (got 100000)'],
    [['cost', '--interval', '2.5'], '--interval must be a whole number from 1 to 300 (got 2.5)'],
    [['status', '--group', '-x'], "Option '--group' argument is ambiguous"],
  ])('exits 2 for %j', async (argv, message) => {
    const io = captureIo();
    expect(await run(argv, io)).toBe(2);
    expect(io.err()).toContain(message);
    expect(io.err()).toContain('Run "natbeat help" for usage.');
  });

  it('gives errors as a JSON object on stdout with --json, and still exits non-zero', async () => {
    const usage = captureIo();
    expect(await run(['cost', '--json', '--interval', '100000'], usage)).toBe(2);
    expect(JSON.parse(usage.out())).toEqual({ error: { message: '--interval must be a whole number from 1 to 300 (got 100000)', exitCode: 2 } });
    const config = captureIo({ env: { NATBEAT_SILENCE_SECONDS: 'soon' } });
    expect(await run(['status', '--json'], config)).toBe(2);
    expect((JSON.parse(config.out()) as { error: { message: string } }).error.message).toContain('NATBEAT_SILENCE_SECONDS="soon"');
    const plain = captureIo();
    expect(await run(['cost', '--interval', '100000'], plain)).toBe(2);
    expect(plain.out()).toBe('');
  });

  it('says that the AWS profile does not exist, and which ones do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'natbeat-profile-'));
    try {
      writeFileSync(join(dir, 'config'), '[profile dev]\nregion = us-east-1\n');
      writeFileSync(join(dir, 'credentials'), '[ops]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n');
      const files = { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
      const io = captureIo({ env: { ...files, AWS_PROFILE: 'nosuchprofile' } });
      expect(await run(['status'], io)).toBe(1);
      expect(io.err()).toContain(`natbeat: the AWS profile "nosuchprofile" (AWS_PROFILE) does not exist in ${files.AWS_CONFIG_FILE} or ${files.AWS_SHARED_CREDENTIALS_FILE}; known profiles: dev, ops`);
      expect(io.err()).not.toContain('set AWS_PROFILE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells a profile that gives no credentials from no profile at all', async () => {
    world = mockWorld([A], TABLES);
    world.autoScaling.on(DescribeAutoScalingGroupsCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const dir = mkdtempSync(join(tmpdir(), 'natbeat-profile-'));
    try {
      writeFileSync(join(dir, 'config'), '[profile sso-dev]\nsso_session = corp\n');
      const io = captureIo({ env: { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_PROFILE: 'sso-dev' } });
      expect(await run(['plan'], io)).toBe(1);
      expect(io.err()).toContain('the AWS profile "sso-dev" (AWS_PROFILE) gave no credentials: for an SSO profile run `aws sso login --profile sso-dev`');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains an endpoint that answers 404 instead of NotFound: Unknown', async () => {
    world = mockWorld([A], TABLES);
    world.autoScaling
      .on(DescribeAutoScalingGroupsCommand)
      .rejects(Object.assign(new Error('Unknown'), { name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 } }));
    const io = captureIo({ env: { AWS_ENDPOINT_URL: 'http://localhost:4566/wrong' } });
    expect(await run(['status'], io)).toBe(1);
    expect(io.err()).toContain(
      'natbeat: the endpoint http://localhost:4566/wrong answered HTTP 404 to autoscaling:DescribeAutoScalingGroups: it does not serve this AWS API; check AWS_ENDPOINT_URL and AWS_REGION',
    );
  });

  it('prints its version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const argv of [['--version'], ['version'], ['-v']]) {
      const io = captureIo();
      expect(await run(argv, io)).toBe(0);
      expect(io.out()).toBe(`${version}\n`);
    }
  });

  it('prints usage with the exit codes for help', async () => {
    const io = captureIo();
    expect(await run(['help'], io)).toBe(0);
    expect(io.out()).toContain('Exit codes: 0 ok');
    expect(await run([], captureIo())).toBe(0);
  });
});

describe('natbeat cost', () => {
  it('prints natbeat vs a NAT Gateway per AZ-month and the assumptions', async () => {
    const io = captureIo();
    expect(await run(['cost', '--azs', '2', '--interval', '30', '--data-gb', '100'], io)).toBe(0);
    const out = io.out();
    expect(out).toContain('2 AZ(s) · 1 NAT per AZ · heartbeat every 30 s');
    // NAT Gateway per AZ: 730 h × ($0.045 + $0.005) + 100 GB × $0.045 = $41.00
    expect(out).toMatch(/NAT Gateway \(hourly, public IPv4, data\)\s+\$41\.00/);
    // 2 NATs × 730 h × 3600 s / 30 s = 175,200 intake requests and report log writes, plus 86
    // witness items (2 NATs × 30/14 replacements × 1 peer × 600 s / 30 s)
    expect(out).toMatch(/Intake requests.*175,200 requests/);
    expect(out).toMatch(/Report log writes.*175,286 write request units/);
    expect(out).not.toMatch(/PutMetricData|GetMetricData/);
    expect(out).toContain('Assumptions');
  });

  it('prices the dashboard and the encrypted topic when asked, as the construct creates them', async () => {
    const json = async (args: string[]) => {
      const io = captureIo();
      expect(await run(['cost', '--json', ...args], io)).toBe(0);
      return JSON.parse(io.out()) as { controllerMonthUsd: number; lines: { item: string; monthlyUsd: number }[] };
    };
    const plain = await json([]);
    const both = await json(['--dashboard', '--encrypt-topic']);
    expect(plain.lines.some((l) => l.item.startsWith('KMS'))).toBe(false);
    // $3 for a dashboard beyond the free ones; $1 for the key, $2 for its two paid rotations, its requests.
    expect(both.controllerMonthUsd - plain.controllerMonthUsd).toBeCloseTo(3 + 3 + 100 * (0.03 / 10_000), 8);
  });

  it('emits the report as JSON', async () => {
    const io = captureIo();
    await run(['cost', '--json', '--azs', '1'], io);
    const report = JSON.parse(io.out()) as { natGatewayPerAzMonthUsd: number; inputs: { azs: number } };
    expect(report.inputs.azs).toBe(1);
    expect(report.natGatewayPerAzMonthUsd).toBeCloseTo(36.5, 6);
  });
});
