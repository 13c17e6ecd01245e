/**
 * The Lambda bundles' build: the SDK schema rewrite that lets esbuild drop unused schemas keeps
 * every request and answer the same, and a bundle is a directory whose handler imports with no
 * node_modules around.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWithSchemaKeys } from '../../infra/lib/bundles';
import { NATBEAT_SOURCE_ROOT } from '../../infra/lib/settings';
import { LAMBDA_BUNDLE_OPTIONS, literalSchemaKeys } from '../../scripts/bundle-options';

describe('literalSchemaKeys', () => {
  it("turns computed keys naming the module's own string constants into literal keys", () => {
    const source = ['const _xN = "xmlName";', 'const _m = "Min";', 'export var A$ = [3, n0, "A", 0, [_m], [[1, { [_xN]: _m }]]];'].join('\n');
    expect(literalSchemaKeys(source)).toBe(['const _xN = "xmlName";', 'const _m = "Min";', 'export var A$ = [3, n0, "A", 0, [_m], [[1, { "xmlName": _m }]]];'].join('\n'));
  });

  it('leaves keys it cannot resolve, and __proto__, computed', () => {
    const source = ['const _p = "__proto__";', 'let _v = "mutable";', 'var X = { [_p]: 1, [_v]: 2, [_unknown]: 3 };'].join('\n');
    expect(literalSchemaKeys(source)).toBe(source);
  });
});

/** A canned EC2 answer that exercises the renamed members (`instancesSet`, `tagSet`, `instanceState`). */
const DESCRIBE_INSTANCES_XML = `<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>req-1</requestId>
<reservationSet><item><reservationId>r-1</reservationId><instancesSet><item><instanceId>i-0abc</instanceId>
<privateIpAddress>10.0.1.5</privateIpAddress><placement><availabilityZone>us-east-1a</availabilityZone></placement>
<instanceState><code>16</code><name>running</name></instanceState>
<tagSet><item><key>natbeat:deployment</key><value>d-1</value></item></tagSet>
<networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId><sourceDestCheck>false</sourceDestCheck></item></networkInterfaceSet>
</item></instancesSet></item></reservationSet></DescribeInstancesResponse>`;

const CLIENT_SOURCE = `
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
export async function describe(endpoint) {
  const client = new EC2Client({ region: 'us-east-1', endpoint, maxAttempts: 1, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
  const out = await client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:natbeat:deployment', Values: ['d-1'] }], InstanceIds: ['i-0abc'], MaxResults: 5 }));
  delete out.$metadata;
  return out;
}
`;

describe('Lambda bundles', { timeout: 120_000 }, () => {
  const work = mkdtempSync(path.join(tmpdir(), 'natbeat-bundles-'));
  const bodies: string[] = [];
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(DESCRIBE_INSTANCES_XML);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it('sends and reads EC2 calls exactly as the unbundled SDK does, without the schemas it does not use', async () => {
    const outdir = path.join(work, 'ec2');
    buildWithSchemaKeys({
      ...LAMBDA_BUNDLE_OPTIONS,
      sourcemap: false,
      stdin: { contents: CLIENT_SOURCE, resolveDir: NATBEAT_SOURCE_ROOT, loader: 'js', sourcefile: 'ec2-client.mjs' },
      entryNames: 'index',
      outdir,
      absWorkingDir: NATBEAT_SOURCE_ROOT,
    });
    const bundled = (await import(pathToFileURL(path.join(outdir, 'index.mjs')).href)) as { describe: (endpoint: string) => Promise<unknown> };
    const { DescribeInstancesCommand, EC2Client } = await import('@aws-sdk/client-ec2');
    const client = new EC2Client({ region: 'us-east-1', endpoint, maxAttempts: 1, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });

    const fromBundle = await bundled.describe(endpoint);
    const { $metadata: _, ...fromSources } = await client.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:natbeat:deployment', Values: ['d-1'] }], InstanceIds: ['i-0abc'], MaxResults: 5 }),
    );

    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toBe(bodies[1]);
    expect(bodies[0]).toContain('Filter.1.Name=tag%3Anatbeat%3Adeployment');
    expect(fromBundle).toEqual(fromSources);
    expect(fromBundle).toMatchObject({
      Reservations: [{ Instances: [{ InstanceId: 'i-0abc', PrivateIpAddress: '10.0.1.5', State: { Name: 'running' }, Tags: [{ Key: 'natbeat:deployment', Value: 'd-1' }] }] }],
    });
    // A shape no command here uses (the SDK has it for RunInstances' accelerator requirements).
    const code = readdirSync(outdir).map((f) => readFileSync(path.join(outdir, f), 'utf8')).join('\n');
    expect(code).not.toContain('AcceleratorCount');
  });
});
