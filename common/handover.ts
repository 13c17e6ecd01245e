/**
 * The handover contract between the controller (writes the tag on the NAT a route moves to, before
 * it moves the route) and the agent (reads its own tags through instance metadata). Both import
 * these names so they cannot drift apart.
 */

/** Instance tag on the NAT that takes route tables over: whom to hand mid-stream flows to, until when. */
export const HANDOVER_TAG_KEY = 'natbeat:handover-from';

/**
 * Default of the longest a planned move keeps the old NAT alive and the new one handing over
 * (seconds). Long enough for typical request/response and streaming connections to finish or be
 * re-established by their clients; a connection older than this still ends with the old NAT.
 */
export const DEFAULT_HANDOVER_DRAIN_SECONDS = 300;

/** UDP port of the VXLAN tunnel between NATs (IANA's VXLAN port); the security group admits it from the NATs only. */
export const HANDOVER_TUNNEL_PORT = 4789;

export interface HandoverTag {
  /** Private IPv4 address of the NAT that carried the flows. */
  address: string;
  /** Handing over stops at this moment. */
  until: Date;
}

/** "10.0.1.23 until 2026-12-01T20:15:00Z" (tag values allow letters, digits, spaces and + - = . _ : / @). */
export function formatHandoverTag(tag: HandoverTag): string {
  return `${tag.address} until ${tag.until.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

/** Undefined when the text is not a handover tag value. */
export function parseHandoverTag(text: string): HandoverTag | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3}) until (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)$/.exec(text.trim());
  if (!match) return undefined;
  const until = new Date(match[2] as string);
  return Number.isNaN(until.getTime()) ? undefined : { address: match[1] as string, until };
}
