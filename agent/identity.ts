/**
 * Who and where this NAT is, from IMDSv2 (token PUT, then the instance identity document) unless
 * configured. fetch and the base URL are injected so tests need no metadata service.
 */
import { parseCidr, type Ipv4Cidr } from './cidr';
import { errorMessage, IdentityError } from './errors';

export interface InstanceIdentity {
  instanceId: string;
  availabilityZone: string;
  region: string;
  groupName: string;
}

export interface ImdsOptions {
  baseUrl: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

const TOKEN_TTL_SECONDS = '300';
const GROUP_NAME_TAG = 'tags/instance/aws:autoscaling:groupName';

export class ImdsClient {
  private token: string | undefined;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: ImdsOptions) {
    this.fetchFn = options.fetch ?? fetch;
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    const url = `${this.options.baseUrl}${path}`;
    try {
      return await this.fetchFn(url, { ...init, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (error) {
      throw new IdentityError(`instance metadata unreachable at ${url} (${errorMessage(error)}); pass the values as flags when not on EC2`, { cause: error });
    }
  }

  private async getToken(): Promise<string> {
    if (this.token) return this.token;
    const response = await this.request('/latest/api/token', {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': TOKEN_TTL_SECONDS },
    });
    if (!response.ok) throw new IdentityError(`instance metadata token request failed: HTTP ${response.status}`);
    this.token = await response.text();
    return this.token;
  }

  /** The text at a metadata path, or undefined when it does not exist (404). */
  async get(path: string): Promise<string | undefined> {
    let response = await this.request(`/latest/${path}`, { headers: { 'X-aws-ec2-metadata-token': await this.getToken() } });
    if (response.status === 401) {
      // The token expired (a long-running agent outlives its TTL): take a new one, once.
      this.token = undefined;
      response = await this.request(`/latest/${path}`, { headers: { 'X-aws-ec2-metadata-token': await this.getToken() } });
    }
    if (response.status === 404) return undefined;
    if (!response.ok) throw new IdentityError(`instance metadata ${path}: HTTP ${response.status}`);
    return (await response.text()).trim();
  }
}

/** Parses the instance identity document; exported for tests. */
export function parseIdentityDocument(text: string): { instanceId: string; availabilityZone: string; region: string } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new IdentityError('instance identity document is not JSON', { cause: error });
  }
  const { instanceId, availabilityZone, region } = (document ?? {}) as Record<string, unknown>;
  if (typeof instanceId !== 'string' || typeof availabilityZone !== 'string' || typeof region !== 'string') {
    throw new IdentityError('instance identity document lacks instanceId, availabilityZone or region');
  }
  return { instanceId, availabilityZone, region };
}

/** Configured values win; instance metadata is asked only for what is missing. */
export async function resolveIdentity(
  configured: Partial<InstanceIdentity>,
  imds: Pick<ImdsClient, 'get'>,
): Promise<InstanceIdentity> {
  let { instanceId, availabilityZone, region, groupName } = configured;
  if (!instanceId || !availabilityZone || !region) {
    const text = await imds.get('dynamic/instance-identity/document');
    if (text === undefined) throw new IdentityError('instance identity document not found in instance metadata');
    const document = parseIdentityDocument(text);
    instanceId ??= document.instanceId;
    availabilityZone ??= document.availabilityZone;
    region ??= document.region;
  }
  if (!groupName) {
    groupName = await imds.get(`meta-data/${GROUP_NAME_TAG}`);
    if (!groupName) {
      throw new IdentityError(
        'Auto Scaling group name unknown: enable instance metadata tags (InstanceMetadataTags=enabled) or pass --group-name',
      );
    }
  }
  return { instanceId, availabilityZone, region, groupName };
}

/** The primary interface's MAC address: the key of its entry under network/interfaces/macs/. */
async function primaryMac(imds: Pick<ImdsClient, 'get'>, flag: string): Promise<string> {
  const mac = await imds.get('meta-data/mac');
  if (!mac) throw new IdentityError(`instance metadata has no primary MAC address; pass ${flag}`);
  return mac;
}

function metadataCidr(block: string, what: string): Ipv4Cidr {
  const cidr = parseCidr(block);
  if (!cidr) throw new IdentityError(`instance metadata returned an invalid ${what} "${block}"`);
  return cidr;
}

/** Every IPv4 range of this instance's VPC (primary interface), from instance metadata. */
export async function vpcCidrsFromMetadata(imds: Pick<ImdsClient, 'get'>): Promise<Ipv4Cidr[]> {
  const mac = await primaryMac(imds, '--vpc-cidr');
  const text = await imds.get(`meta-data/network/interfaces/macs/${mac}/vpc-ipv4-cidr-blocks`);
  const cidrs = (text ?? '').split(/\s+/).filter(Boolean).map((block) => metadataCidr(block, 'VPC CIDR'));
  if (cidrs.length === 0) throw new IdentityError('instance metadata lists no VPC IPv4 CIDR blocks; pass --vpc-cidr');
  return cidrs;
}

/** The primary private IPv4 address (where the peer responder listens), from instance metadata. */
export async function primaryPrivateAddress(imds: Pick<ImdsClient, 'get'>): Promise<string> {
  const address = await imds.get('meta-data/local-ipv4');
  if (!address || !/^\d{1,3}(?:\.\d{1,3}){3}$/.test(address)) {
    throw new IdentityError(`instance metadata has no primary private IPv4 address (local-ipv4: ${JSON.stringify(address)}); pass --peer-address or --no-peer-probe`);
  }
  return address;
}

/** The IPv4 range of the subnet this instance's primary interface is in, from instance metadata. */
export async function subnetCidrFromMetadata(imds: Pick<ImdsClient, 'get'>): Promise<Ipv4Cidr> {
  const mac = await primaryMac(imds, '--subnet-cidr');
  const text = await imds.get(`meta-data/network/interfaces/macs/${mac}/subnet-ipv4-cidr-block`);
  if (!text) throw new IdentityError(`instance metadata has no subnet IPv4 CIDR block for interface ${mac}; pass --subnet-cidr`);
  return metadataCidr(text, 'subnet CIDR');
}
