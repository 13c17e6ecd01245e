/**
 * The intake: the one door a NAT has into the controller. Behind a Function URL with AuthType
 * AWS_IAM, it takes a NAT's heartbeat (`IntakeReportBody`), believes the caller's identity only as
 * Lambda verified it (the role session of this deployment's NAT role, named after the instance),
 * checks that the instance is in one of the deployment's groups, appends the beat (and the peers
 * it says it cannot reach) to the report log, and only then wakes the serialized reconcile
 * function: on a failing beat with a verified self-report, on a newly named peer with a verified
 * witness report. The woken run reads what was just written. What the body says about any other
 * instance is a witness's hint; its own identity is never taken from it.
 *
 * Answers: 202 accepted (with the peers to probe) · 400 malformed · 403 not a NAT of this
 * deployment · 429 this instance sent a body less than BODY_INTERVAL_MS ago · 503 AWS could not
 * be asked or the log not written (nothing woken; the agent retries).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { IntakeAccepted } from '../../common/intake-contract';
import { beatItem, witnessItem } from '../../common/report-store';
import { readReportBody, validUnreachablePeers, verifyCaller } from '../core/caller-identity';
import { awsErrorCode, errorMessage } from '../core/errors';
import { selfReportEvent, witnessReportEvent } from '../core/events';
import { MIN_RUN_INTERVAL_MS } from '../core/trigger-limits';
import { lazyClients, type IntakeClients } from './clients';
import { IntervalLimiter, NamedPeers } from './limits';
import { MembershipCache } from './membership';
import { PeerDirectory } from './peers';
import { ReportLogWriter } from './report-log';
import { intakeSettings, type IntakeSettings } from './settings';
import { ReconcileWaker } from './wake';

export { INTAKE_ENV, intakeSettings } from './settings';

/** One accepted body per instance per this interval (per execution environment). */
export const BODY_INTERVAL_MS = 1_000;
/** One witness item per (witness, peer) per this interval. */
export const WITNESS_ITEM_INTERVAL_MS = 2_000;
/** One self-report wake per instance per this interval: what reconcile admits anyway. */
export const SELF_REPORT_WAKE_INTERVAL_MS = MIN_RUN_INTERVAL_MS['self-report'];
/** One witness wake per witness per this interval. */
export const WITNESS_WAKE_INTERVAL_MS = MIN_RUN_INTERVAL_MS.witness;

/**
 * Settings, logger, clock, and the clients: each a client or a factory called when first needed,
 * given either flat or as `clients`.
 */
export type IntakeDeps = {
  settings: IntakeSettings | Error;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  now: () => Date;
} & (IntakeClients | { clients: IntakeClients });

export interface FunctionUrlResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const answer = (statusCode: number, body: Record<string, unknown> | IntakeAccepted): FunctionUrlResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

const describeError = (error: unknown) => `${awsErrorCode(error)}: ${errorMessage(error)}`;

export function createIntakeHandler(deps: IntakeDeps): (event: unknown) => Promise<FunctionUrlResponse> {
  const { settings, logger } = deps;
  const clients: IntakeClients = 'clients' in deps ? deps.clients : deps;
  if (settings instanceof Error) {
    return async () => {
      logger.error(settings.message);
      return answer(500, { message: 'intake misconfigured' });
    };
  }
  const bodies = new IntervalLimiter(BODY_INTERVAL_MS);
  const witnessItems = new IntervalLimiter(WITNESS_ITEM_INTERVAL_MS);
  const selfReportWakes = new IntervalLimiter(SELF_REPORT_WAKE_INTERVAL_MS);
  const witnessWakes = new IntervalLimiter(WITNESS_WAKE_INTERVAL_MS);
  const namedPeers = new NamedPeers();
  const membership = new MembershipCache(clients.autoScaling);
  const peers = new PeerDirectory(clients, settings.groupNames);
  const log = new ReportLogWriter(clients.dynamoDb, settings.reportTable);
  const waker = new ReconcileWaker(clients.lambda, settings.reconcileFunction);

  return async (event: unknown): Promise<FunctionUrlResponse> => {
    const caller = verifyCaller(event, settings.identity);
    if (!caller.ok) {
      logger.warn('report refused', { reason: caller.reason });
      return answer(caller.status, { message: caller.reason });
    }
    const { instanceId, callerArn } = caller;
    const body = readReportBody(event);
    if (!body.ok) {
      logger.warn('report refused', { instanceId, reason: body.reason });
      return answer(400, { message: body.reason });
    }
    if (body.claimedInstanceId !== undefined && body.claimedInstanceId !== instanceId) {
      logger.warn('report names another instance: ignored, the caller is who reports', { instanceId, claimed: body.claimedInstanceId.slice(0, 64) });
    }
    const nowMs = deps.now().getTime();
    if (!bodies.allows(instanceId, nowMs)) {
      const sinceMs = bodies.since(instanceId, nowMs);
      logger.info('report refused', { instanceId, reason: `sent a body ${sinceMs} ms ago` });
      return answer(429, { message: `${instanceId} sent a body ${sinceMs} ms ago; one per ${BODY_INTERVAL_MS / 1000} s` });
    }

    let member;
    try {
      member = await membership.lookup(instanceId, nowMs);
    } catch (error) {
      logger.error('could not look the reporting instance up', { instanceId, error: describeError(error) });
      return answer(503, { message: 'could not check the instance; try again' });
    }
    if (!member || !settings.groupNames.includes(member.groupName)) {
      const where = member ? `group ${member.groupName}` : 'no Auto Scaling group';
      logger.warn('report refused', { instanceId, reason: `in ${where}, not one of ${settings.groupNames.join(', ')}` });
      return answer(403, { message: `${instanceId} is not a NAT of this deployment` });
    }

    // The log first: a woken run must find what woke it.
    const failing = body.status === 'failing';
    const named = validUnreachablePeers(body.unreachablePeers, instanceId);
    if (named.length < body.unreachablePeers.length) {
      logger.warn('unreachable peers ignored: not instance ids, repeated, or the witness itself', { instanceId, sent: body.unreachablePeers.slice(0, 16), kept: named });
    }
    const itemPeers = named.filter((peer) => witnessItems.allows(`${instanceId}>${peer}`, nowMs));
    try {
      await log.append(
        beatItem(instanceId, nowMs, failing ? 0 : 1, member, failing ? body.failedProbes : undefined),
        itemPeers.map((peer) => witnessItem(peer, instanceId, nowMs)),
      );
    } catch (error) {
      logger.error('could not write the report log; nothing woken', { instanceId, error: describeError(error) });
      return answer(503, { message: 'could not record the report; try again' });
    }
    bodies.record(instanceId, nowMs);
    for (const peer of itemPeers) witnessItems.record(`${instanceId}>${peer}`, nowMs);

    const receivedAt = new Date(nowMs);
    const wakes: Promise<void>[] = [];
    const where = { groupName: member.groupName, availabilityZone: member.availabilityZone };
    if (failing && selfReportWakes.allows(instanceId, nowMs)) {
      const report = selfReportEvent({ instanceId, ...where, status: 'failing', failedProbes: body.failedProbes, callerArn }, receivedAt);
      wakes.push(
        waker.wake(report).then(
          () => {
            selfReportWakes.record(instanceId, nowMs);
            logger.info('self-report: reconcile woken', { instanceId, ...where, failedProbes: body.failedProbes });
          },
          (error: unknown) => logger.error('could not wake reconcile for a self-report; the next failing beat tries again', { instanceId, error: describeError(error) }),
        ),
      );
    }
    const newlyNamed = namedPeers.newlyNamed(instanceId, named);
    if (newlyNamed.length > 0 && witnessWakes.allows(instanceId, nowMs)) {
      const report = witnessReportEvent({ witnessId: instanceId, ...where, unreachablePeers: named, callerArn }, receivedAt);
      wakes.push(
        waker.wake(report).then(
          () => {
            witnessWakes.record(instanceId, nowMs);
            namedPeers.woken(instanceId, named);
            logger.info('witness report: reconcile woken', { witnessId: instanceId, unreachablePeers: named, newlyNamed });
          },
          (error: unknown) => logger.error('could not wake reconcile for a witness report; the next body tries again', { witnessId: instanceId, error: describeError(error) }),
        ),
      );
    }
    const [directory] = await Promise.all([peers.peersOf(instanceId, nowMs), ...wakes]);
    if (!directory.ok) logger.warn('could not list the peers; answering without them', { instanceId, error: describeError(directory.error) });
    logger.debug('beat accepted', { instanceId, status: body.status, unreachablePeers: named });
    return answer(202, { status: 'accepted', instanceId, ...(directory.ok ? { peers: directory.peers } : {}) });
  };
}

export const handler = createIntakeHandler({
  settings: intakeSettings(process.env),
  ...lazyClients(),
  logger: new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'natbeat-intake' }),
  now: () => new Date(),
});
