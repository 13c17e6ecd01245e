/**
 * natbeat as the NAT provider of an `ec2.Vpc`: one line in the VPC's props gives every private
 * subnet a highly available NAT instance.
 *
 *   new ec2.Vpc(this, 'Vpc', { natGatewayProvider: NatBeatProvider.instances({ alarmEmail: '…' }) });
 *
 * Unlike a NAT Gateway provider it adds no default route to the private route tables: those
 * routes are natbeat's controller's to write (and move) at run time, so CloudFormation never
 * fights it. It tags the tables instead.
 */
import { Annotations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { NatBeat } from './natbeat';
import { fail, type NatBeatProps } from './settings';

/** NatBeat's props, less what the VPC decides: the VPC and its subnets. */
export type NatBeatProviderProps = Omit<NatBeatProps, 'vpc' | 'natSubnets' | 'privateSubnets'>;

export class NatBeatProvider extends ec2.NatProvider implements ec2.IConnectable {
  /** natbeat's NAT instances, one per public subnet the VPC places NATs in. */
  public static instances(props: NatBeatProviderProps = {}): NatBeatProvider {
    return new NatBeatProvider(props);
  }

  private _natBeat?: NatBeat;

  private constructor(private readonly props: NatBeatProviderProps) {
    super();
  }

  /** The NatBeat construct, once the VPC has configured NAT. */
  public get natBeat(): NatBeat {
    if (!this._natBeat) fail('NatBeatProvider: pass it to an ec2.Vpc (natGatewayProvider) before reading natBeat');
    return this._natBeat;
  }

  /** The NATs' security group, to allow more traffic through them. */
  public get connections(): ec2.Connections {
    return this.natBeat.securityGroup.connections;
  }

  public configureNat(options: ec2.ConfigureNatOptions): void {
    if (this._natBeat) fail('NatBeatProvider: one provider serves one VPC; create another with NatBeatProvider.instances()');
    if (options.natSubnets.length === 0) fail('NatBeatProvider: the VPC placed no NAT (it needs a public subnet and natGateways of at least 1)');
    this._natBeat = new NatBeat(options.vpc, 'NatBeat', {
      ...this.props,
      vpc: options.vpc,
      natSubnets: { subnets: options.natSubnets },
      privateSubnets: { subnets: options.privateSubnets },
    });
    const natZones = new Set(options.natSubnets.map((s) => s.availabilityZone));
    const unserved = [...new Set(options.privateSubnets.map((s) => s.availabilityZone))].filter((z) => !natZones.has(z));
    if (unserved.length > 0) {
      Annotations.of(this._natBeat).addWarningV2(
        'natbeat:zoneWithoutNat',
        `No NAT in ${unserved.join(', ')} (natGateways is below the number of zones): those zones' private subnets always route through another zone's NAT, and the ZoneWithoutSameAzNat alarm stays in ALARM.`,
      );
    }
    for (const subnet of options.privateSubnets) this.configureSubnet(subnet);
  }

  /** Adds no route: natbeat's controller writes each table's default route at run time. */
  public configureSubnet(_subnet: ec2.PrivateSubnet): void {
    // The NatBeat construct has tagged the subnet's route table for the controller.
  }

  /** None: natbeat's routes target whichever NAT is healthy, chosen at run time, not at synth. */
  public get configuredGateways(): ec2.GatewayConfig[] {
    return [];
  }
}
