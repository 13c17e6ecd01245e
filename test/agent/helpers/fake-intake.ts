/**
 * A local HTTP server posing as the intake's Function URL (AuthType AWS_IAM): it checks each
 * request's SigV4 signature as Lambda would (service `lambda`, the given region and test
 * credentials), records the accepted reports and answers 202, or 403 for a bad signature, or
 * `status` when set. Point the agent at it with AWS_ENDPOINT_URL_LAMBDA.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';

export const TEST_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface RecordedReport {
  body: unknown;
  /** The access key the request was signed with. */
  accessKeyId: string;
  at: number;
}

/** The SDK's own SHA-256 (as a client resolves it), so this file needs no hash of its own. */
const sha256 = new CloudWatchClient({ region: 'us-east-1', credentials: TEST_CREDENTIALS }).config.sha256;

export class FakeIntake {
  readonly reports: RecordedReport[] = [];
  readonly refused: string[] = [];
  /** HTTP status of the next answers to well-signed requests (202: accepted). */
  status = 202;
  /** What an accepted request is answered with. */
  accepted: Record<string, unknown> = { status: 'accepted' };

  private constructor(
    private readonly server: Server,
    private readonly region: string,
  ) {}

  static async start(region = 'eu-west-1'): Promise<FakeIntake> {
    const server = createServer();
    const fake = new FakeIntake(server, region);
    server.on('request', (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        void fake.verify(request, body).then((problem) => {
          if (problem) fake.refused.push(problem);
          else if (fake.status === 202) fake.reports.push({ body: JSON.parse(body), accessKeyId: TEST_CREDENTIALS.accessKeyId, at: Date.now() });
          const status = problem ? 403 : fake.status;
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(problem ? { Message: problem } : fake.status === 202 ? fake.accepted : { message: `answered ${fake.status}` }));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** undefined when the request is a POST signed for this intake, else why not. */
  private async verify(request: IncomingMessage, body: string): Promise<string | undefined> {
    if (request.method !== 'POST') return `method ${request.method}`;
    const authorization = String(request.headers.authorization ?? '');
    const amzDate = String(request.headers['x-amz-date'] ?? '');
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!authorization.startsWith('AWS4-HMAC-SHA256 ') || !m) return 'not signed';
    const signingDate = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
    const signer = new SignatureV4({ service: 'lambda', region: this.region, credentials: TEST_CREDENTIALS, sha256 });
    const expected = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: request.url ?? '/',
        query: {},
        headers: { host: String(request.headers.host), 'content-type': String(request.headers['content-type']) },
        body,
      },
      { signingDate },
    );
    return expected.headers.authorization === authorization ? undefined : 'signature does not match';
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
