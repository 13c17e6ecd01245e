/**
 * Reconcile at scale: 1,000 NATs in 334 groups (one VPC per group, 3 AZs, a private route table
 * per AZ), every AWS call answered by an in-memory AWS after an injected round trip, a few NATs
 * silent so the run has work to do. Prints one JSON object:
 *   wallMs            one full reconcile (observe → decide → act) through the real SDK clients
 *   awsCalls          attempts that reached "AWS", in all and by command
 *   getMetricDataCalls
 *   decideMsFor10k    decide() alone on an observed snapshot of 10,000 NATs (median of several runs)
 * Usage: npm run -s bench:reconcile [-- --latency-ms 50 --nats 1000 --groups 334 --silent 5]
 */
import { parseArgs } from 'node:util';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { AwsClients } from '../lambdas/core/clients';
import { DEFAULT_CONFIG } from '../lambdas/core/config';
import { decide } from '../lambdas/core/decide';
import { silentLog } from '../lambdas/core/log';
import { observe } from '../lambdas/core/observe';
import { reconcile } from '../lambdas/core/reconcile';
import { installFakeTransport } from '../test/support/aws-mock';
import type { FakeAws } from '../test/support/fake-aws';
import { buildFleet } from '../test/support/fleet';

const TARGETS = { getMetricDataCalls: 2, wallMs: 2000, decideMsFor10k: 50 };

const { values: args } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '50' },
    nats: { type: 'string', default: '1000' },
    groups: { type: 'string', default: '334' },
    silent: { type: 'string', default: '5' },
    'decide-nats': { type: 'string', default: '10000' },
    'decide-runs': { type: 'string', default: '7' },
  },
});
const num = (name: keyof typeof args) => {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number, got ${args[name]}`);
  return value;
};

const NOW = new Date('2026-06-01T12:00:00Z');
const config = { ...DEFAULT_CONFIG };

function clientsFor(fake: FakeAws, latencyMs: number): AwsClients {
  const common = { region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, maxAttempts: config.maxAttempts };
  const clients = {
    ec2: new EC2Client(common),
    autoScaling: new AutoScalingClient(common),
    dynamoDb: new DynamoDBClient(common),
  };
  installFakeTransport(clients, fake, { latencyMs });
  return clients;
}

function countBy(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items.sort()) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

async function fullReconcile(latencyMs: number) {
  const spec = { now: NOW, groups: num('groups'), nats: num('nats'), silent: num('silent') };
  // Warm-up on a fleet of its own: module loading and JIT are not what this measures.
  const warm = buildFleet({ ...spec, groups: 3, nats: 9, silent: 1 });
  await reconcile({ clients: clientsFor(warm.fake, 0), config, log: silentLog, now: () => NOW });

  const fleet = buildFleet(spec);
  const clients = clientsFor(fleet.fake, latencyMs);
  const started = performance.now();
  const report = await reconcile({ clients, config, log: silentLog, now: () => NOW });
  const wallMs = performance.now() - started;
  const commands = fleet.fake.commands().map((c) => c.replace(/Command$/, ''));
  return {
    fleet: { nats: fleet.natIds.length, groups: fleet.groupNames.length, routeTables: fleet.fake.tables.size, silentNats: fleet.silentIds.length },
    wallMs: Math.round(wallMs),
    awsCalls: commands.length,
    awsCallsByCommand: countBy(commands),
    getMetricDataCalls: commands.filter((c) => c === 'GetMetricData').length,
    actions: countBy(report.results.map((r) => `${r.action.kind}:${r.status}`)),
  };
}

async function decideTiming() {
  const nats = num('decide-nats');
  const fleet = buildFleet({ now: NOW, groups: Math.ceil(nats / 3), nats, silent: Math.round(nats / 200) });
  const snapshot = await observe(clientsFor(fleet.fake, 0), config, NOW);
  if (snapshot.groups.flatMap((g) => g.instances).length !== nats) throw new Error('the observed snapshot lost NATs');
  const runs: number[] = [];
  let actions = 0;
  for (let i = 0; i < num('decide-runs'); i++) {
    const started = performance.now();
    actions = decide(snapshot, config, NOW).actions.length;
    runs.push(performance.now() - started);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return {
    decideMsFor10k: round1(sorted[Math.floor(sorted.length / 2)]!),
    decideRunsMs: runs.map(round1),
    decideSnapshot: { nats, routeTables: snapshot.routeTables.length, actions },
  };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

const latencyMs = num('latency-ms');
const full = await fullReconcile(latencyMs);
const timing = await decideTiming();
const result = { latencyMsPerCall: latencyMs, ...full, ...timing, targets: TARGETS };
const met = {
  getMetricDataCalls: result.getMetricDataCalls <= TARGETS.getMetricDataCalls,
  wallMs: result.wallMs < TARGETS.wallMs,
  decideMsFor10k: result.decideMsFor10k < TARGETS.decideMsFor10k,
};
console.log(JSON.stringify({ ...result, met }));
process.stderr.write(
  `reconcile of ${result.fleet.nats} NATs in ${result.fleet.groups} groups (${latencyMs} ms per AWS call): ${result.wallMs} ms wall, ` +
    `${result.awsCalls} AWS calls, ${result.getMetricDataCalls} GetMetricData; decide() on 10,000 NATs: ${result.decideMsFor10k} ms\n`,
);
