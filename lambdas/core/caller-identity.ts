/**
 * Who called the intake. Its Function URL uses AuthType AWS_IAM: Lambda verifies the SigV4
 * signature before the function runs and puts the verified caller in
 * `requestContext.authorizer.iam`. An EC2 instance role's session is named after the instance,
 * so a NAT's requests arrive as `arn:aws:sts::<account>:assumed-role/<role>/<instance id>`.
 * Accepted: exactly this deployment's NAT role, in this account, with an instance id as session
 * name. The instance id comes from there, never from the request body. Pure and total: any
 * input gives a verdict, never an exception.
 */
import * as z from 'zod';
import { MAX_PROBE_NAME_LENGTH, MAX_REPORTED_PROBES, MAX_UNREACHABLE_PEERS, type RoutingStatus } from '../../common/intake-contract';

export interface IntakeIdentity {
  partition: string;
  accountId: string;
  /** The NAT role's name (an assumed-role ARN carries the name, not the path). */
  natRoleName: string;
}

export type CallerVerdict =
  | { ok: true; instanceId: string; callerArn: string }
  | { ok: false; status: 400 | 403; reason: string };

/** The parts of AWS's Function URL request payload (format 2.0) the intake reads. */
const functionUrlRequest = z.object({
  requestContext: z.object({
    http: z.object({ method: z.string() }).loose(),
    authorizer: z
      .object({
        iam: z.object({ userArn: z.string().max(2048), accountId: z.string().optional() }).loose(),
      })
      .loose(),
  }).loose(),
});

const ASSUMED_ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/(i-[0-9a-f]{8,17})$/;
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/;

/** The expected caller from the NAT role's ARN (`arn:aws:iam::<account>:role[/path]/<name>`). */
export function identityFromRoleArn(roleArn: string): IntakeIdentity | undefined {
  const m = ROLE_ARN.exec(roleArn);
  return m ? { partition: m[1]!, accountId: m[2]!, natRoleName: m[3]! } : undefined;
}

export function verifyCaller(event: unknown, expected: IntakeIdentity): CallerVerdict {
  const parsed = functionUrlRequest.safeParse(event);
  if (!parsed.success) return { ok: false, status: 403, reason: 'no IAM caller in the request context (not a Function URL request with AWS_IAM auth)' };
  const { http, authorizer } = parsed.data.requestContext;
  if (http.method !== 'POST') return { ok: false, status: 400, reason: `method ${http.method} (a report is a POST)` };
  const callerArn = authorizer.iam.userArn;
  const m = ASSUMED_ROLE_ARN.exec(callerArn);
  if (!m) return { ok: false, status: 403, reason: `caller ${callerArn} is not an instance role session (assumed-role/<role>/i-…)` };
  const [, partition, account, role, instanceId] = m as unknown as [string, string, string, string, string];
  if (partition !== expected.partition || account !== expected.accountId || (authorizer.iam.accountId !== undefined && authorizer.iam.accountId !== expected.accountId)) {
    return { ok: false, status: 403, reason: `caller ${callerArn} is in another account or partition` };
  }
  if (role !== expected.natRoleName) return { ok: false, status: 403, reason: `caller ${callerArn} does not use this deployment's NAT role (${expected.natRoleName})` };
  return { ok: true, instanceId, callerArn };
}

const probeNames = z.array(z.string().max(MAX_PROBE_NAME_LENGTH)).max(MAX_REPORTED_PROBES);

/**
 * The report body (`IntakeReportBody`). Only what the sender says of itself (status, failed
 * probes) and the peers it names are read; an instance id in the body is only noted, never
 * believed. The first release's agents sent `{failedProbes, at}` (or a `detail` wrapper) with no
 * status: that is a failure report.
 */
const reportBody = z
  .object({
    status: z.enum(['ok', 'failing']).optional(),
    failedProbes: probeNames.optional(),
    unreachablePeers: z.array(z.string().max(64)).max(MAX_UNREACHABLE_PEERS).optional(),
    detail: z.object({ failedProbes: probeNames.optional(), instanceId: z.unknown().optional() }).loose().optional(),
    instanceId: z.unknown().optional(),
  })
  .loose();

/** At most this many bytes of body are read. */
export const MAX_REPORT_BYTES = 8 * 1024;

export interface ReportBody {
  status: RoutingStatus;
  failedProbes: string[];
  /** Peer instance ids as sent (not yet checked: see `validUnreachablePeers`). */
  unreachablePeers: string[];
  claimedInstanceId?: string;
}

export type BodyVerdict = ({ ok: true } & ReportBody) | { ok: false; reason: string };

/** Reads the body of a report: empty (a bare "I failed") or a JSON object; never throws. */
export function readReportBody(event: unknown): BodyVerdict {
  const { body, isBase64Encoded } = (event ?? {}) as { body?: unknown; isBase64Encoded?: unknown };
  if (body === undefined || body === null || body === '') return { ok: true, status: 'failing', failedProbes: [], unreachablePeers: [] };
  if (typeof body !== 'string' || body.length > MAX_REPORT_BYTES * 2) return { ok: false, reason: 'body too large or not text' };
  const text = isBase64Encoded === true ? Buffer.from(body, 'base64').toString('utf8') : body;
  if (Buffer.byteLength(text) > MAX_REPORT_BYTES) return { ok: false, reason: `body over ${MAX_REPORT_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  const parsed = reportBody.safeParse(json);
  if (!parsed.success) {
    return {
      ok: false,
      reason: `body is not a report (status ok|failing; failedProbes: at most ${MAX_REPORTED_PROBES} names of at most ${MAX_PROBE_NAME_LENGTH} characters; unreachablePeers: at most ${MAX_UNREACHABLE_PEERS} instance ids)`,
    };
  }
  const claimed = parsed.data.detail?.instanceId ?? parsed.data.instanceId;
  return {
    ok: true,
    status: parsed.data.status ?? 'failing',
    failedProbes: parsed.data.detail?.failedProbes ?? parsed.data.failedProbes ?? [],
    unreachablePeers: parsed.data.unreachablePeers ?? [],
    ...(typeof claimed === 'string' ? { claimedInstanceId: claimed } : {}),
  };
}

const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** The peers a witness names that can be about someone else: instance ids, not the witness, once each. */
export function validUnreachablePeers(named: readonly string[], witnessId: string): string[] {
  return [...new Set(named)].filter((id) => INSTANCE_ID.test(id) && id !== witnessId).slice(0, MAX_UNREACHABLE_PEERS);
}
