import { describe, expect, it, vi } from 'vitest';
import { formatCidr } from '../../agent/cidr';
import { IdentityError } from '../../agent/errors';
import { ImdsClient, primaryPrivateAddress, resolveIdentity, subnetCidrFromMetadata, vpcCidrsFromMetadata } from '../../agent/identity';

const DOCUMENT = JSON.stringify({ instanceId: 'i-0123456789abcdef0', availabilityZone: 'eu-west-1a', region: 'eu-west-1', privateIp: '10.0.1.10' });
const MAC = '0a:1b:2c:3d:4e:5f';

/** A fake IMDSv2: checks the token handshake and serves `paths`. */
function fakeImds(paths: Record<string, string>) {
  const calls: string[] = [];
  const fetchFn = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const path = String(url).replace('http://imds.test', '');
    const headers = new Headers(init?.headers);
    calls.push(`${init?.method ?? 'GET'} ${path}`);
    if (path === '/latest/api/token') {
      expect(init?.method).toBe('PUT');
      expect(headers.get('x-aws-ec2-metadata-token-ttl-seconds')).toBeTruthy();
      return new Response('token-1');
    }
    if (headers.get('x-aws-ec2-metadata-token') !== 'token-1') return new Response('', { status: 401 });
    const body = paths[path.replace('/latest/', '')];
    return body === undefined ? new Response('', { status: 404 }) : new Response(body);
  });
  return { imds: new ImdsClient({ baseUrl: 'http://imds.test', timeoutMs: 1000, fetch: fetchFn as typeof fetch }), calls, fetchFn };
}

describe('Function: resolveIdentity', () => {
  it('reads the identity document and the group name tag with one token', async () => {
    const { imds, calls } = fakeImds({
      'dynamic/instance-identity/document': DOCUMENT,
      'meta-data/tags/instance/aws:autoscaling:groupName': 'nat-asg\n',
    });
    expect(await resolveIdentity({}, imds)).toEqual({
      instanceId: 'i-0123456789abcdef0',
      availabilityZone: 'eu-west-1a',
      region: 'eu-west-1',
      groupName: 'nat-asg',
    });
    expect(calls.filter((call) => call.startsWith('PUT'))).toHaveLength(1);
  });

  it('never asks instance metadata when everything is configured', async () => {
    const { imds, fetchFn } = fakeImds({});
    const configured = { instanceId: 'i-1', availabilityZone: 'az', region: 'r', groupName: 'g' };
    expect(await resolveIdentity(configured, imds)).toEqual(configured);
    expect(fetchFn).not.toHaveBeenCalled();
  });

  it('keeps configured values over metadata ones', async () => {
    const { imds } = fakeImds({ 'dynamic/instance-identity/document': DOCUMENT });
    expect(await resolveIdentity({ region: 'us-east-1', groupName: 'g' }, imds)).toMatchObject({ region: 'us-east-1', instanceId: 'i-0123456789abcdef0' });
  });

  it('explains how to fix a missing group name tag', async () => {
    const { imds } = fakeImds({ 'dynamic/instance-identity/document': DOCUMENT });
    await expect(resolveIdentity({}, imds)).rejects.toThrow('enable instance metadata tags (InstanceMetadataTags=enabled) or pass --group-name');
  });

  it('fails fast with a clear message when there is no metadata service', async () => {
    const imds = new ImdsClient({
      baseUrl: 'http://imds.test',
      timeoutMs: 50,
      fetch: (() => Promise.reject(new TypeError('fetch failed'))) as typeof fetch,
    });
    const failure = resolveIdentity({ groupName: 'g' }, imds);
    await expect(failure).rejects.toBeInstanceOf(IdentityError);
    await expect(failure).rejects.toThrow('pass the values as flags when not on EC2');
  });

  it('rejects a malformed identity document', async () => {
    const { imds } = fakeImds({ 'dynamic/instance-identity/document': '{"instanceId": 1}' });
    await expect(resolveIdentity({ groupName: 'g' }, imds)).rejects.toThrow('lacks instanceId, availabilityZone or region');
  });
});

describe('Function: vpcCidrsFromMetadata', () => {
  it('reads every VPC range of the primary interface', async () => {
    const { imds } = fakeImds({
      'meta-data/mac': MAC,
      [`meta-data/network/interfaces/macs/${MAC}/vpc-ipv4-cidr-blocks`]: '10.0.0.0/16\n100.64.0.0/16',
    });
    expect((await vpcCidrsFromMetadata(imds)).map(formatCidr)).toEqual(['10.0.0.0/16', '100.64.0.0/16']);
  });

  it('fails on a malformed block, naming it', async () => {
    const { imds } = fakeImds({ 'meta-data/mac': MAC, [`meta-data/network/interfaces/macs/${MAC}/vpc-ipv4-cidr-blocks`]: '10.0.0.0/16\nnope' });
    await expect(vpcCidrsFromMetadata(imds)).rejects.toThrow('instance metadata returned an invalid VPC CIDR "nope"');
  });

  it('fails when metadata lists none', async () => {
    const { imds } = fakeImds({ 'meta-data/mac': MAC });
    await expect(vpcCidrsFromMetadata(imds)).rejects.toThrow('lists no VPC IPv4 CIDR blocks; pass --vpc-cidr');
  });
});

describe('Function: primaryPrivateAddress', () => {
  it('reads local-ipv4, where the peer responder listens', async () => {
    const { imds } = fakeImds({ 'meta-data/local-ipv4': '10.0.3.17' });
    expect(await primaryPrivateAddress(imds)).toBe('10.0.3.17');
  });

  it('fails, naming the flags, when metadata has no usable address', async () => {
    await expect(primaryPrivateAddress(fakeImds({}).imds)).rejects.toThrow('pass --peer-address or --no-peer-probe');
    await expect(primaryPrivateAddress(fakeImds({ 'meta-data/local-ipv4': 'none' }).imds)).rejects.toThrow('no primary private IPv4 address');
  });
});

describe('Function: subnetCidrFromMetadata', () => {
  it("reads the primary interface's subnet range", async () => {
    const { imds, calls } = fakeImds({ 'meta-data/mac': MAC, [`meta-data/network/interfaces/macs/${MAC}/subnet-ipv4-cidr-block`]: '10.0.1.0/24\n' });
    expect(formatCidr(await subnetCidrFromMetadata(imds))).toBe('10.0.1.0/24');
    expect(calls).toEqual(['PUT /latest/api/token', 'GET /latest/meta-data/mac', `GET /latest/meta-data/network/interfaces/macs/${MAC}/subnet-ipv4-cidr-block`]);
  });

  it.each<{ name: string; paths: Record<string, string>; message: string }>([
    { name: 'no MAC address', paths: {}, message: 'instance metadata has no primary MAC address; pass --subnet-cidr' },
    { name: 'no subnet block', paths: { 'meta-data/mac': MAC }, message: `instance metadata has no subnet IPv4 CIDR block for interface ${MAC}; pass --subnet-cidr` },
    {
      name: 'a malformed block',
      paths: { 'meta-data/mac': MAC, [`meta-data/network/interfaces/macs/${MAC}/subnet-ipv4-cidr-block`]: '10.0.1.7/24' },
      message: 'instance metadata returned an invalid subnet CIDR "10.0.1.7/24"',
    },
  ])('fails clearly on $name', async ({ paths, message }) => {
    const { imds } = fakeImds(paths);
    const error = await subnetCidrFromMetadata(imds).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdentityError);
    expect((error as Error).message).toBe(message);
  });

  it('says which flag to pass when instance metadata cannot be reached', async () => {
    const imds = new ImdsClient({ baseUrl: 'http://imds.test', timeoutMs: 1000, fetch: (async () => Promise.reject(new Error('connect ECONNREFUSED'))) as typeof fetch });
    await expect(subnetCidrFromMetadata(imds)).rejects.toThrow('instance metadata unreachable at http://imds.test/latest/api/token (connect ECONNREFUSED); pass the values as flags when not on EC2');
  });
});

describe('Class: ImdsClient', () => {
  it('takes a new token once when the cached one has expired (401), as a long-running agent must', async () => {
    let token = 'token-old';
    const calls: string[] = [];
    const fetchFn = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
      const path = String(url).replace('http://imds.test', '');
      calls.push(`${init?.method ?? 'GET'} ${path}`);
      if (path === '/latest/api/token') return new Response(token);
      return new Headers(init?.headers).get('x-aws-ec2-metadata-token') === 'token-new' ? new Response('10.0.1.9 until 2026-12-01T20:05:00Z') : new Response('', { status: 401 });
    });
    const imds = new ImdsClient({ baseUrl: 'http://imds.test', timeoutMs: 1000, fetch: fetchFn as typeof fetch });
    await expect(imds.get('meta-data/tags/instance/natbeat:handover-from')).rejects.toThrow('HTTP 401');
    token = 'token-new';
    expect(await imds.get('meta-data/tags/instance/natbeat:handover-from')).toBe('10.0.1.9 until 2026-12-01T20:05:00Z');
    expect(calls.filter((call) => call.startsWith('PUT'))).toHaveLength(3);
  });
});
