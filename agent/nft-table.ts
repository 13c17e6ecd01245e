/** Loading and comparing the agent's own nftables tables (each replaced whole, never edited in place). */
import { createHash } from 'node:crypto';
import { NFT_TABLE, type System } from './system';

/** Declares, deletes and re-creates the table in one nft transaction: atomic, never half-applied. */
export function nftReplaceScript(table: string, name = NFT_TABLE): string {
  return `table ip ${name} {}\ndelete table ip ${name}\n${table}`;
}

/** Whitespace-insensitive form of a listing, for comparing `nft list table` with what we render. */
export const normalizeNft = (text: string) => text.replace(/\s+/g, ' ').trim();

/** `nft list table ip NAME`, or undefined when there is no such table. */
export function listNftTable(system: System, name: string): Promise<string | undefined> {
  return system.exec('nft', ['list', 'table', 'ip', name]).then(
    (result) => result.stdout,
    () => undefined,
  );
}

/**
 * A table whose comment carries a hash of its rules. nft lists rules in its own words (merged
 * ranges, `tcp flags ! syn`…), so "is it already loaded" compares the hash, not the listing.
 */
export function fingerprintedTable(name: string, chains: string[], note?: string): string {
  const body = chains.join('\n');
  const hash = createHash('sha256').update(`${name}\n${body}`).digest('hex').slice(0, 16);
  return [`table ip ${name} {`, `\tcomment "natbeat:${hash}${note ? ` ${note}` : ''}"`, body, '}', ''].join('\n');
}

/** The hash in a rendered or listed table's comment; undefined when it has none of ours. */
export function fingerprintOf(table: string): string | undefined {
  return /comment "natbeat:([0-9a-f]{16})/.exec(table)?.[1];
}
