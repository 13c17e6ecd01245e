/**
 * Connection handover on planned moves, as a rule of its own on top of decide()'s route plan:
 * - when a route table leaves a NAT that still routes (failback from a healthy peer, a flapping NAT,
 *   or a NAT leaving through its terminate hook while healthy), the NAT taking the table is tagged
 *   first with the old NAT's address and a drain deadline; its agent then hands mid-stream flows
 *   back to the old NAT until the deadline. A NAT that failed is not a source: it cannot carry them.
 * - a terminating NAT's hook is not completed while a NAT hands flows to it (the tag written in this
 *   run, or one observed with a deadline still ahead), so it lives until the drain deadline; the
 *   hook's own timeout (default result CONTINUE) bounds the wait in any case.
 * Pure: no I/O, no clock. Off when the drain time is 0.
 */
import { LifecycleState, type Action, type NatInstance, type NatVerdict } from './types';

export interface HandoverConfig {
  /** Longest a planned move keeps the old NAT carrying its flows; 0 = no handover. */
  handoverDrainSeconds: number;
  silenceSeconds: number;
  terminateHookName: string;
}

export interface HandoverNat {
  instanceId: string;
  instance: NatInstance;
  verdict: NatVerdict;
  lifecycleState: string;
  /** Its last healthy heartbeat. */
  lastHeartbeatAt?: Date;
}

type TagHandover = Extract<Action, { kind: 'TagHandover' }>;

/** Whether `nat` still routes, so flows handed to it go on. */
export function canCarryHandedOverFlows(nat: HandoverNat, config: Pick<HandoverConfig, 'silenceSeconds'>, now: Date): boolean {
  if (!nat.instance.privateIpAddress || nat.instance.ec2State !== 'running') return false;
  if (nat.verdict === 'healthy') return true;
  // Leaving on a planned termination: Auto Scaling still counts it Healthy and it beat recently.
  return (
    nat.lifecycleState === LifecycleState.TerminatingWait &&
    nat.instance.healthStatus === 'Healthy' &&
    nat.lastHeartbeatAt !== undefined &&
    now.getTime() - nat.lastHeartbeatAt.getTime() <= config.silenceSeconds * 1000
  );
}

export function planHandover(
  nats: HandoverNat[],
  routeActions: Action[],
  lifecycle: Action[],
  config: HandoverConfig,
  now: Date,
): { tags: TagHandover[]; lifecycle: Action[] } {
  if (config.handoverDrainSeconds <= 0) return { tags: [], lifecycle };
  const byId = new Map(nats.map((n) => [n.instanceId, n]));
  const until = new Date(now.getTime() + config.handoverDrainSeconds * 1000);
  const tags: TagHandover[] = [];
  for (const move of routeActions) {
    if (move.kind !== 'SetRoute' || !move.previousInstanceId || move.previousInstanceId === move.instanceId) continue;
    const from = byId.get(move.previousInstanceId);
    if (!from || !canCarryHandedOverFlows(from, config, now)) continue;
    // One source per NAT: its agent hands INVALID flows to a single address (the first move wins).
    if (tags.some((t) => t.instanceId === move.instanceId)) continue;
    tags.push({
      kind: 'TagHandover',
      instanceId: move.instanceId,
      fromInstanceId: from.instanceId,
      fromAddress: from.instance.privateIpAddress!,
      until,
      reason: `planned move of ${move.routeTableId} from ${from.instanceId} (${from.verdict === 'healthy' ? 'healthy' : 'terminating'}): its mid-stream flows go back to it for up to ${config.handoverDrainSeconds} s`,
    });
  }
  const drainingUntil = new Map<string, number>();
  const note = (address: string, at: Date) => drainingUntil.set(address, Math.max(drainingUntil.get(address) ?? 0, at.getTime()));
  for (const tag of tags) note(tag.fromAddress, tag.until);
  for (const nat of nats) if (nat.instance.handoverFrom && nat.instance.handoverFrom.until > now) note(nat.instance.handoverFrom.address, nat.instance.handoverFrom.until);
  const held = (action: Action) => {
    if (action.kind !== 'CompleteLifecycle' || action.result !== 'CONTINUE' || action.hookName !== config.terminateHookName) return false;
    const address = byId.get(action.instanceId)?.instance.privateIpAddress;
    return address !== undefined && (drainingUntil.get(address) ?? 0) > now.getTime();
  };
  return { tags, lifecycle: lifecycle.filter((action) => !held(action)) };
}
