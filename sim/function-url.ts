/**
 * A Lambda function behind a Function URL with AuthType AWS_IAM, on the virtual clock. The agent's
 * real `SignedUrlSender` signs its request (SigV4, its instance's credentials) and hands it to
 * `fetch`; here `fetch` is the Function URL: it finds the caller from the signature's access key
 * (as IAM does: only the credentials' owner could have signed), builds the request event AWS
 * builds (payload format 2.0, `requestContext.authorizer.iam.userArn` = the caller's role
 * session), and invokes the function synchronously. Each concurrent request needs an execution
 * environment: a warm idle one, else a new one that pays a cold start; beyond the reserved
 * concurrency the URL answers 429 [AWS]. An environment idle longer than lambdaIdleColdSeconds
 * is gone (cold again), as in sim/lambda.ts.
 */
import { fakeContext, invocationStorage, Invocation, type LambdaHandler } from './lambda';
import { draw, type Latency } from './random';
import { ACCOUNT_ID, sessionArnOf } from './world/iam';
import type { WorldContext } from './world/context';

interface Environment {
  busy: boolean;
  lastEndedAt: number;
}

export interface SyncOutcome {
  statusCode: number;
  body: string;
  cold: boolean;
}

export class SimSyncFunction {
  private readonly environments: Environment[] = [];
  private count = 0;
  readonly stats = { invocations: 0, coldStarts: 0, throttled: 0, timedOut: 0 };

  constructor(
    private readonly ctx: WorldContext,
    readonly name: string,
    private readonly handler: LambdaHandler,
    private readonly reservedConcurrency: number,
    private readonly timeoutMs: number,
    private readonly coldStartMs: () => number,
  ) {}

  async invoke(event: unknown): Promise<SyncOutcome> {
    const { clock, params } = this.ctx;
    const idleMs = params.lambdaIdleColdSeconds * 1000;
    // Environments idle too long are reclaimed.
    for (let k = this.environments.length - 1; k >= 0; k--) {
      const env = this.environments[k]!;
      if (!env.busy && clock.now() - env.lastEndedAt > idleMs) this.environments.splice(k, 1);
    }
    let env = this.environments.find((e) => !e.busy);
    const cold = env === undefined;
    if (!env) {
      if (this.environments.length >= this.reservedConcurrency) {
        this.stats.throttled++;
        return { statusCode: 429, body: JSON.stringify({ Message: 'Rate Exceeded.' }), cold: false };
      }
      env = { busy: true, lastEndedAt: clock.now() };
      this.environments.push(env);
    }
    env.busy = true;
    this.stats.invocations++;
    if (cold) this.stats.coldStarts++;
    await clock.sleep(cold ? this.coldStartMs() : params.lambdaWarmStartMs);
    const deadline = clock.now() + this.timeoutMs;
    const context = fakeContext(this.name, ++this.count, () => Math.max(0, deadline - clock.now()));
    let timer: { cancel(): void } | undefined;
    const timedOut = new Promise<'timed out'>((resolve) => (timer = clock.at(deadline, () => resolve('timed out'))));
    const result = await Promise.race([
      clock.withRealWork(() => invocationStorage.run(new Invocation(undefined, this.name), () => this.handler(event, context))).catch((error: unknown) => ({ threw: String(error) })),
      timedOut,
    ]);
    timer?.cancel();
    env.busy = false;
    env.lastEndedAt = clock.now();
    if (result === 'timed out') {
      this.stats.timedOut++;
      this.environments.splice(this.environments.indexOf(env), 1);
      return { statusCode: 502, body: JSON.stringify({ Message: 'Task timed out' }), cold };
    }
    const r = result as { statusCode?: number; body?: string; threw?: string };
    if (r.threw !== undefined) return { statusCode: 502, body: JSON.stringify({ Message: 'Internal Server Error' }), cold };
    return { statusCode: r.statusCode ?? 200, body: r.body ?? '', cold };
  }
}

/** Access keys the world issued: key id → the instance whose role session holds it. */
export class InstanceCredentials {
  private readonly owners = new Map<string, string>();

  /** The instance role's credentials for `instanceId` (IMDS gives them to the agent). */
  of(instanceId: string): { accessKeyId: string; secretAccessKey: string; sessionToken: string } {
    const accessKeyId = `ASIASIM${instanceId.replace(/^i-/, '').toUpperCase()}`;
    this.owners.set(accessKeyId, instanceId);
    return { accessKeyId, secretAccessKey: `secret-${instanceId}`, sessionToken: `token-${instanceId}` };
  }

  ownerOf(accessKeyId: string): string | undefined {
    return this.owners.get(accessKeyId);
  }
}

/** What one intake request cost on the way (for the bench). */
export interface UrlRequestRecord {
  at: number;
  instanceId?: string;
  statusCode: number;
  ms: number;
  cold: boolean;
}

/**
 * `fetch` for agents: the Function URL in front of `fn`. Network time (`latency`, the round trip
 * without the function's run) is split evenly around the invocation; an aborted request rejects
 * with an AbortError, as fetch does.
 */
export function functionUrlFetch(ctx: WorldContext, fn: SimSyncFunction, credentials: InstanceCredentials, latency: Latency, records: UrlRequestRecord[]): typeof fetch {
  const { clock, rng } = ctx;
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const signal = init?.signal ?? undefined;
    const started = clock.now();
    const network = draw(rng, latency);
    await clock.sleep(network / 2, signal);
    abortIfAborted(signal);
    const headers = new Headers(init?.headers);
    const keyId = /Credential=([^/]+)\//.exec(headers.get('authorization') ?? '')?.[1];
    const instanceId = keyId ? credentials.ownerOf(keyId) : undefined;
    const url = new URL(String(input instanceof Request ? input.url : input));
    let outcome: SyncOutcome;
    if (!instanceId) {
      // AWS_IAM auth: no valid signature, no invocation [AWS].
      outcome = { statusCode: 403, body: JSON.stringify({ Message: 'Forbidden' }), cold: false };
    } else {
      const now = clock.date();
      const body = typeof init?.body === 'string' ? init.body : '';
      const event = {
        version: '2.0',
        routeKey: '$default',
        rawPath: url.pathname,
        rawQueryString: '',
        headers: Object.fromEntries(headers.entries()),
        requestContext: {
          accountId: 'anonymous',
          apiId: url.hostname.split('.')[0],
          authorizer: { iam: { accessKey: keyId, accountId: ACCOUNT_ID, callerId: `AROASIM:${instanceId}`, cognitoIdentity: null, principalOrgId: null, userArn: sessionArnOf(instanceId), userId: `AROASIM:${instanceId}` } },
          domainName: url.hostname,
          http: { method: init?.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'natbeat-agent' },
          requestId: `sim-${clock.now()}-${instanceId}`,
          routeKey: '$default',
          stage: '$default',
          time: now.toUTCString(),
          timeEpoch: now.getTime(),
        },
        body,
        isBase64Encoded: false,
      };
      outcome = await fn.invoke(event);
    }
    await clock.sleep(network / 2, signal);
    abortIfAborted(signal);
    records.push({ at: started, ...(instanceId ? { instanceId } : {}), statusCode: outcome.statusCode, ms: clock.now() - started, cold: outcome.cold });
    return response(outcome.statusCode, outcome.body);
  }) as typeof fetch;
}

function abortIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
}

/** Enough of a fetch Response for the agent (status, text, json), without a real body stream. */
function response(status: number, body: string): Response {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: new Headers({ 'content-type': 'application/json' }),
    text: () => Promise.resolve(body),
    json: () => Promise.resolve(JSON.parse(body) as unknown),
  } as unknown as Response;
}
