/**
 * The agent's only way to the controller: every heartbeat is a POST of an `IntakeReportBody` to the
 * intake's Function URL (AuthType AWS_IAM), signed (SigV4, service `lambda`) with the instance
 * role's credentials, so the intake knows which instance speaks from the verified caller, never
 * from the body. The answer lists the peers to probe.
 *
 * `IntakeClient` sends through any `IntakeSender`, so a simulator can plug in its own; retries stay
 * inside the caller's deadline. Signing uses @smithy/signature-v4 with the standard credential
 * chain and @smithy/hash-node: the agent loads no AWS service client.
 */
import type { AwsCredentialIdentityProvider, ChecksumConstructor, HashConstructor } from '@smithy/types';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  MAX_PROBE_NAME_LENGTH,
  MAX_REPORTED_PROBES,
  MAX_UNREACHABLE_PEERS,
  type IntakeAccepted,
  type IntakePeer,
  type IntakeReportBody,
  type RoutingStatus,
} from '../common/intake-contract';
import { abortableSleep, isRetryable } from './bounded-retry';
import { errorMessage } from './errors';

/** What the agent says: how it routes, which of its probes failed, which peers it cannot reach. */
export function heartbeatBody(status: RoutingStatus, failedProbes: readonly string[], unreachablePeers: readonly string[], at: Date): IntakeReportBody {
  return {
    status,
    ...(status === 'failing' ? { failedProbes: failedProbes.slice(0, MAX_REPORTED_PROBES).map((name) => name.slice(0, MAX_PROBE_NAME_LENGTH)) } : {}),
    unreachablePeers: unreachablePeers.slice(0, MAX_UNREACHABLE_PEERS),
    at: at.toISOString(),
  };
}

/** Delivers one body; throws on failure, with `$metadata.httpStatusCode` when there was an answer. */
export interface IntakeSender {
  send(body: IntakeReportBody, signal: AbortSignal): Promise<IntakeAccepted | undefined>;
}

/** The region of a Function URL (`https://<id>.lambda-url.<region>.on.aws/`). */
export function regionOfUrl(url: string): string | undefined {
  return /^https:\/\/[^.]+\.lambda-url\.([a-z0-9-]+)\.on\.aws\/?$/.exec(url)?.[1];
}

export interface SigningOptions {
  region: string;
  credentials: AwsCredentialIdentityProvider;
  sha256: ChecksumConstructor | HashConstructor;
  fetch?: typeof fetch;
}

const text = (value: unknown, max: number) => typeof value === 'string' && value.length > 0 && value.length <= max;

/** The peers of an answer, when it has a well-formed list (anything else: none). */
export function peersOfAnswer(answer: unknown): IntakePeer[] | undefined {
  const peers = (answer as { peers?: unknown } | null)?.peers;
  if (!Array.isArray(peers)) return undefined;
  return peers
    .filter((p: Partial<IntakePeer> | null) => text(p?.instanceId, 19) && text(p?.address, 15) && /^\d{1,3}(?:\.\d{1,3}){3}$/.test(p!.address!) && text(p?.availabilityZone, 64))
    .slice(0, 64)
    .map((p: IntakePeer) => ({ instanceId: p.instanceId, address: p.address, availabilityZone: p.availabilityZone }));
}

/** POSTs bodies to a Function URL with AWS_IAM auth, signed for the `lambda` service. */
export class SignedUrlSender implements IntakeSender {
  private readonly signer: SignatureV4;
  private readonly fetch: typeof fetch;

  constructor(
    readonly url: string,
    options: SigningOptions,
  ) {
    this.signer = new SignatureV4({ service: 'lambda', region: options.region, credentials: options.credentials, sha256: options.sha256 });
    this.fetch = options.fetch ?? fetch;
  }

  async send(report: IntakeReportBody, signal: AbortSignal): Promise<IntakeAccepted | undefined> {
    const target = new URL(this.url);
    const body = JSON.stringify(report);
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: target.protocol,
      hostname: target.hostname,
      ...(target.port ? { port: Number(target.port) } : {}),
      path: target.pathname || '/',
      query: {},
      headers: { host: target.host, 'content-type': 'application/json' },
      body,
    });
    // fetch sets Host itself, to the same value that was signed.
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name.toLowerCase() !== 'host'));
    const response = await this.fetch(target, { method: 'POST', headers, body, signal });
    const answer = (await response.text().catch(() => '')).slice(0, 64 * 1024);
    if (response.status === 200 || response.status === 202) {
      let json: unknown;
      try {
        json = JSON.parse(answer);
      } catch {
        return undefined;
      }
      const peers = peersOfAnswer(json);
      const instanceId = (json as { instanceId?: unknown } | null)?.instanceId;
      return { status: 'accepted', instanceId: typeof instanceId === 'string' ? instanceId : '', ...(peers ? { peers } : {}) };
    }
    throw Object.assign(new Error(`intake answered ${response.status}: ${answer.slice(0, 300)}`), {
      name: response.status === 429 ? 'TooManyRequests' : `Http${response.status}`,
      $metadata: { httpStatusCode: response.status },
    });
  }
}

export interface SendOutcome {
  ok: boolean;
  attempts: number;
  /** The intake's answer (ok only). */
  accepted?: IntakeAccepted;
  /** HTTP status of the last refusal, if there was an answer. */
  httpStatus?: number;
  error?: string;
}

export interface IntakeClientOptions {
  /** Attempts per body, first included. */
  maxAttempts?: number;
  /** Back-off before the second attempt; doubles after that. */
  backoffMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export const DEFAULT_BODY_ATTEMPTS = 3;
/** The intake accepts one body per instance per second: after a 429, wait at least this long. */
export const TOO_SOON_BACKOFF_MS = 1_000;

export class IntakeClient {
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(
    private readonly sender: IntakeSender,
    options: IntakeClientOptions = {},
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_BODY_ATTEMPTS);
    this.backoffMs = options.backoffMs ?? 100;
    this.sleep = options.sleep ?? abortableSleep;
  }

  /**
   * One body. Never throws: gives up after maxAttempts, on a refusal that a retry cannot change
   * (400, 403: not a NAT of this deployment), or when `signal` aborts (the cycle's deadline or
   * shutdown). A 429 (a body accepted less than a second ago) is retried after a second.
   */
  async send(body: IntakeReportBody, signal: AbortSignal): Promise<SendOutcome> {
    let last: SendOutcome = { ok: false, attempts: 0, error: 'aborted before the first attempt' };
    for (let n = 1; n <= this.maxAttempts; n++) {
      if (signal.aborted) return { ...last, error: `deadline reached: ${last.error}` };
      try {
        const accepted = await this.sender.send(body, signal);
        return { ok: true, attempts: n, ...(accepted ? { accepted } : {}) };
      } catch (error) {
        const httpStatus = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
        last = { ok: false, attempts: n, error: errorMessage(error), ...(httpStatus !== undefined ? { httpStatus } : {}) };
        if (signal.aborted) return { ...last, error: `deadline reached: ${last.error}` };
        if (!isRetryable(error) || n === this.maxAttempts) return last;
        await this.sleep(httpStatus === 429 ? Math.max(TOO_SOON_BACKOFF_MS, this.backoffMs) : this.backoffMs * 2 ** (n - 1), signal);
      }
    }
    return last;
  }
}
