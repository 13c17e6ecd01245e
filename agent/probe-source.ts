/**
 * The source address of the forward-path probe: an address of the VPC that no instance can hold,
 * so the probe's packets meet the NAT's own filter and NAT rules exactly as a private host's do
 * (a rule keyed on the VPC's ranges hits both), while nothing in the VPC can ever answer for it.
 *
 * AWS reserves the first four addresses and the last one of every subnet: network, VPC router
 * (+1), Amazon DNS (+2), "reserved by AWS for future use" (+3), broadcast. None can be assigned to
 * an instance or a network interface, and a subnet is /16 to /28. Sources: Amazon VPC User Guide,
 * "Subnet CIDR blocks" (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html);
 * EC2 API Reference, CreateSubnet ("reserves both the first four and the last IPv4 address in each
 * subnet's CIDR block"). The probe takes +3 of the NAT's own subnet: +1 and +2 answer in the VPC,
 * and +3 is the one nothing uses.
 */
import { cidrRange, formatCidr, formatIpv4, rangeCovers, type Ipv4Cidr } from './cidr';
import { SetupError } from './errors';

/** The smallest subnet AWS allows (/28, 16 addresses): network+3 is a host address in every subnet up to it. */
export const MAX_SUBNET_PREFIX_LENGTH = 28;

/** network + 3 of the subnet: "reserved by AWS for future use". */
export function reservedProbeAddress(subnet: Ipv4Cidr): string {
  return formatIpv4(subnet.network + 3);
}

/**
 * The probe's source for a NAT in `subnet`, checked against the layout it must fit: inside a VPC
 * range (the masquerade rule covers exactly those, so the probe is translated like a private
 * host), with the probe link (the veth's own /30) outside the VPC. Throws SetupError saying what to fix.
 */
export function probeSourceFor(subnet: Ipv4Cidr, vpcCidrs: readonly Ipv4Cidr[], probeLink: Ipv4Cidr): string {
  const subnetText = formatCidr(subnet);
  if (subnet.prefixLength > MAX_SUBNET_PREFIX_LENGTH) {
    throw new SetupError(`subnet ${subnetText} is smaller than a VPC subnet can be (/16 to /${MAX_SUBNET_PREFIX_LENGTH}); pass the NAT's subnet with --subnet-cidr`);
  }
  if (!vpcCidrs.some((vpc) => rangeCovers(cidrRange(vpc), subnet))) {
    // Outside every masqueraded range the probe would leave untranslated (and be dropped by the guard): never healthy.
    throw new SetupError(
      `subnet ${subnetText} is not inside the VPC ranges ${vpcCidrs.map(formatCidr).join(', ')}: the probe's source must be a VPC address that the masquerade rule covers; check --subnet-cidr and --vpc-cidr`,
    );
  }
  // Aligned blocks overlap only when one holds the other. A link inside the VPC would route VPC addresses into the namespace.
  const clash = vpcCidrs.find((vpc) => rangeCovers(cidrRange(vpc), probeLink) || rangeCovers(cidrRange(probeLink), vpc));
  if (clash) {
    throw new SetupError(`the probe link ${formatCidr(probeLink)} overlaps the VPC range ${formatCidr(clash)}; choose a --probe-cidr outside the VPC (the default is link-local)`);
  }
  return reservedProbeAddress(subnet);
}
