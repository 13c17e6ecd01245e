/**
 * Which source ranges may send traffic through the NATs. The security group admits them and the
 * agent masquerades them, so a public range makes the NATs an open proxy for it: only private
 * ranges pass unless the user says otherwise.
 */
import { Token } from 'aws-cdk-lib';
import { cidrRange, parseCidr, rangeCovers } from '../../agent/cidr';

/**
 * The ranges a VPC may use that are not routable on the internet: RFC 1918 and the shared
 * address space of RFC 6598 (AWS accepts 100.64.0.0/10 as a VPC range).
 */
export const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] as const;

const privateRanges = PRIVATE_RANGES.map((text) => cidrRange(parseCidr(text)!));

/** True when every address of `cidr` (a.b.c.d/n) is in one of PRIVATE_RANGES. */
export function isPrivateCidr(cidr: string): boolean {
  const parsed = parseCidr(cidr);
  return parsed !== undefined && privateRanges.some((range) => rangeCovers(range, parsed));
}

/**
 * Throws (naming the entry) on an empty list, a malformed CIDR, or — unless `allowNonPrivate` —
 * a range outside PRIVATE_RANGES, `0.0.0.0/0` included. A CloudFormation reference (such as the
 * VPC's own CIDR block) cannot be checked at synth and passes.
 */
export function checkAllowedCidrs(cidrs: readonly string[], allowNonPrivate: boolean): void {
  if (cidrs.length === 0) throw new Error('NatBeat: allowedCidrs must not be empty');
  for (const cidr of cidrs) {
    if (Token.isUnresolved(cidr)) continue;
    if (parseCidr(cidr) === undefined) throw new Error(`NatBeat: allowedCidrs entry "${cidr}" is not an IPv4 CIDR block such as 10.0.0.0/16`);
    if (!allowNonPrivate && !isPrivateCidr(cidr)) {
      throw new Error(
        `NatBeat: allowedCidrs entry "${cidr}" is not a private range (${PRIVATE_RANGES.join(', ')}): every address in it could send traffic through the NATs. Set allowNonPrivateCidrs: true if that is what you want.`,
      );
    }
  }
}
