import { describe, expect, it } from 'vitest';
import { parseCidr, type Ipv4Cidr } from '../../agent/cidr';
import { SetupError } from '../../agent/errors';
import { probeSourceFor, reservedProbeAddress } from '../../agent/probe-source';

const cidr = (text: string) => parseCidr(text) as Ipv4Cidr;
const LINK = cidr('169.254.100.0/30');

describe('Function: reservedProbeAddress', () => {
  it.each([
    ['10.0.1.0/24', '10.0.1.3'],
    ['10.0.0.0/16', '10.0.0.3'],
    ['10.0.2.16/28', '10.0.2.19'],
    ['100.64.255.0/24', '100.64.255.3'],
  ])('network + 3 of %s is %s', (subnet, address) => {
    expect(reservedProbeAddress(cidr(subnet))).toBe(address);
  });
});

describe('Function: probeSourceFor', () => {
  it('takes the reserved address of a subnet in any of several VPC ranges', () => {
    const vpc = [cidr('10.0.0.0/16'), cidr('100.64.0.0/16')];
    expect(probeSourceFor(cidr('10.0.1.0/24'), vpc, LINK)).toBe('10.0.1.3');
    // A subnet of a secondary range: its masquerade rule covers it as well.
    expect(probeSourceFor(cidr('100.64.7.0/24'), vpc, LINK)).toBe('100.64.7.3');
    // The smallest subnet AWS allows.
    expect(probeSourceFor(cidr('10.0.9.240/28'), vpc, LINK)).toBe('10.0.9.243');
    // A subnet as large as its VPC range.
    expect(probeSourceFor(cidr('10.0.0.0/16'), vpc, LINK)).toBe('10.0.0.3');
  });

  it.each([
    {
      name: 'a subnet outside every VPC range (its source would not be masqueraded)',
      subnet: '10.1.0.0/24',
      message: 'subnet 10.1.0.0/24 is not inside the VPC ranges 10.0.0.0/16, 100.64.0.0/16: the probe\'s source must be a VPC address that the masquerade rule covers; check --subnet-cidr and --vpc-cidr',
    },
    {
      name: 'a subnet that straddles a VPC range',
      subnet: '10.0.0.0/15',
      message: 'subnet 10.0.0.0/15 is not inside the VPC ranges 10.0.0.0/16, 100.64.0.0/16: the probe\'s source must be a VPC address that the masquerade rule covers; check --subnet-cidr and --vpc-cidr',
    },
    {
      name: 'a subnet smaller than AWS allows',
      subnet: '10.0.1.0/29',
      message: "subnet 10.0.1.0/29 is smaller than a VPC subnet can be (/16 to /28); pass the NAT's subnet with --subnet-cidr",
    },
  ])('refuses $name', ({ subnet, message }) => {
    const error = (() => {
      try {
        return probeSourceFor(cidr(subnet), [cidr('10.0.0.0/16'), cidr('100.64.0.0/16')], LINK);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SetupError);
    expect((error as Error).message).toBe(message);
  });

  it.each([
    ['inside the VPC', '10.0.200.0/30'],
    ['around the VPC', '10.0.0.0/8'],
  ])('refuses a probe link %s (it would route VPC addresses into the namespace)', (_, link) => {
    expect(() => probeSourceFor(cidr('10.0.1.0/24'), [cidr('10.0.0.0/16')], cidr(link))).toThrow(
      `the probe link ${link} overlaps the VPC range 10.0.0.0/16; choose a --probe-cidr outside the VPC (the default is link-local)`,
    );
  });

  it('accepts a link right next to the VPC range', () => {
    expect(probeSourceFor(cidr('10.0.1.0/24'), [cidr('10.0.0.0/16')], cidr('10.1.0.0/30'))).toBe('10.0.1.3');
  });
});
