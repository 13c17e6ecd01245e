/**
 * What a NAT's agent and the intake say to each other. The agent POSTs one of these bodies,
 * signed with SigV4, to the intake's Function URL (AuthType AWS_IAM); the intake knows who sent
 * it from the verified caller (the instance role session), never from the body. Every body is a
 * heartbeat: it says how the sender itself routes (believed, once authenticated) and which peers
 * it cannot reach (a hint about others, never believed on its own).
 *
 * Plain types and constants only: the agent (a small bundle on a t4g.nano) and the Lambdas both
 * import this file; each side validates with its own parser.
 */

/** How the sender says it routes: every probe passed, or one failed. */
export type RoutingStatus = 'ok' | 'failing';

/** At most this many probe names (each at most 64 characters) are read from a body. */
export const MAX_REPORTED_PROBES = 16;
export const MAX_PROBE_NAME_LENGTH = 64;

/** At most this many unreachable peers are read from a body. */
export const MAX_UNREACHABLE_PEERS = 16;

/** The body an agent sends. */
export interface IntakeReportBody {
  /**
   * Absent: `failing` (the first release's agents sent only failure reports, with no status).
   */
  status?: RoutingStatus;
  /** The sender's own failed probes (words for the log). */
  failedProbes?: string[];
  /** Peers (instance ids) that stopped answering the sender's peer probe: a witness's hint. */
  unreachablePeers?: string[];
  /** When the agent measured it (ISO 8601); for logs only, the intake stamps its own time. */
  at?: string;
}

/** A peer the agent should probe: another NAT of the same deployment. */
export interface IntakePeer {
  instanceId: string;
  /** Primary private IPv4 address, where its peer responder listens. */
  address: string;
  availabilityZone: string;
}

/** The intake's answer to an accepted body (HTTP 202). */
export interface IntakeAccepted {
  status: 'accepted';
  instanceId: string;
  /**
   * The deployment's other NATs in service or launching, from the controller's read-only
   * Describe calls (the agent needs no EC2 permission). Absent when they could not be read this
   * time: the agent keeps probing the last list it got.
   */
  peers?: IntakePeer[];
}

/** UDP port of the agent's peer responder (the NAT security group admits it from itself only). */
export const DEFAULT_PEER_PORT = 4799;
