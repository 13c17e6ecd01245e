/**
 * Reads the world exactly as the controller does (observe, then the pure decide) and never acts.
 * Adds the one thing the CLI shows that the controller does not need: each NAT's Elastic IP.
 */
import { DescribeAddressesCommand } from '@aws-sdk/client-ec2';
import type { AwsClients } from '../lambdas/core/clients';
import type { ControllerConfig } from '../lambdas/core/config';
import { decide } from '../lambdas/core/decide';
import { awsErrorCode } from '../lambdas/core/errors';
import { observe } from '../lambdas/core/observe';
import type { Plan, Snapshot } from '../lambdas/core/types';
import { readOnlyClients, type CallRecorder } from './aws';
import { CliError, describeAwsError, failedOperation } from './errors';

export interface PublicAddress {
  publicIp?: string;
  allocationId?: string;
}

export interface Inspection {
  snapshot: Snapshot;
  plan: Plan;
  /** Addresses by instance id; undefined when they could not be read (see notes). */
  addresses?: Map<string, PublicAddress>;
  /** Things the CLI could not show, worded for the operator. They do not change the exit code. */
  notes: string[];
  /** IAM actions of reads that failed in this run, by observation scope where known. */
  failedReads: { operation: string; code: string; hint?: string }[];
}

export async function inspect(clients: AwsClients, config: ControllerConfig, now: Date): Promise<Inspection> {
  const recorder: CallRecorder = { failures: [] };
  const readOnly = readOnlyClients(clients, recorder);
  const snapshot = await observe(readOnly, config, now);
  if (snapshot.groups.length === 0 && snapshot.failures.length === 0) throw noGroupsError(config);
  const plan = decide(snapshot, config, now);
  const notes: string[] = [];
  const addresses = await readAddresses(readOnly, snapshot).catch((error: unknown) => {
    const { code, hint } = describeAwsError(error);
    notes.push(`Elastic IPs not shown: ${hint ?? `${failedOperation(error) ?? 'ec2:DescribeAddresses'} failed (${code})`}`);
    return undefined;
  });
  const failedReads = recorder.failures
    .filter((f) => f.operation !== 'ec2:DescribeAddresses')
    .map((f) => ({ operation: f.operation, code: awsErrorCode(f.error), hint: describeAwsError(f.error).hint }));
  return { snapshot, plan, addresses, notes, failedReads };
}

function noGroupsError(config: ControllerConfig): CliError {
  const searched =
    config.groupNames.length > 0
      ? `Auto Scaling groups named ${config.groupNames.join(', ')} (NATBEAT_GROUP_NAMES)`
      : `Auto Scaling groups tagged ${config.groupTagKey}=true (NATBEAT_GROUP_TAG_KEY)`;
  return new CliError(
    `no managed NAT groups found: searched ${searched} in this account and region. Check AWS_REGION / AWS_PROFILE, or set NATBEAT_GROUP_NAMES.`,
  );
}

async function readAddresses(clients: AwsClients, snapshot: Snapshot): Promise<Map<string, PublicAddress>> {
  const ids = snapshot.groups.flatMap((g) => g.instances.map((i) => i.instanceId));
  const out = new Map<string, PublicAddress>();
  if (ids.length === 0) return out;
  // DescribeAddresses has no pagination; one call per 200 ids keeps the filter well inside EC2's limits.
  for (let i = 0; i < ids.length; i += 200) {
    const page = await clients.ec2.send(
      new DescribeAddressesCommand({ Filters: [{ Name: 'instance-id', Values: ids.slice(i, i + 200) }] }),
    );
    for (const a of page.Addresses ?? []) {
      if (a.InstanceId) out.set(a.InstanceId, { publicIp: a.PublicIp, allocationId: a.AllocationId });
    }
  }
  return out;
}
