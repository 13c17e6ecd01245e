/**
 * natbeat: highly available NAT instances for AWS CDK apps.
 *
 * - `NatBeatProvider.instances({...})` as an `ec2.Vpc`'s `natGatewayProvider`, or
 * - `new NatBeat(this, 'NatBeat', { vpc })` for a VPC you already have.
 */
export { NatBeat } from './natbeat';
export { NatBeatProvider, type NatBeatProviderProps } from './provider';
export { alarmPeriodFor, GROUP_TAG_KEY, MANAGED_TAG_VALUE, reconcileFunctionName, type NatBeatProps } from './settings';
export type { NatBeatAlarms } from './monitoring';
