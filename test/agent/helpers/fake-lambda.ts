/**
 * A local HTTP server posing as the Lambda Invoke endpoint (moto implements Invoke only with Docker).
 * Point a client at it with AWS_ENDPOINT_URL_LAMBDA; it records every invoke and answers 202 like an
 * accepted asynchronous invoke, or `status` when set.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedInvoke {
  functionName: string;
  invocationType: string | undefined;
  payload: unknown;
  at: number;
}

export class FakeLambda {
  readonly invokes: RecordedInvoke[] = [];
  /** HTTP status of the next answers (202: accepted). */
  status = 202;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeLambda> {
    const server = createServer();
    const fake = new FakeLambda(server);
    server.on('request', (request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(request.url ?? '');
        if (request.method === 'POST' && match) {
          let payload: unknown = body;
          try {
            payload = JSON.parse(body);
          } catch {
            // kept as text: the test says what it expected
          }
          fake.invokes.push({ functionName: decodeURIComponent(match[1] as string), invocationType: request.headers['x-amz-invocation-type'] as string | undefined, payload, at: Date.now() });
        }
        const status = match ? fake.status : 404;
        response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': 'fake' });
        response.end(status >= 400 ? JSON.stringify({ Type: 'Service', message: `fake status ${status}` }) : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
