/**
 * The controller Lambdas' IAM: read-only observation on `*` (those calls support no resource-level
 * permissions) and every write scoped to this deployment's group, tagged route tables, own NATs
 * and pinned addresses. Each `*` carries a cdk-nag acknowledgement saying why.
 */
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { HANDOVER_TAG_KEY } from '../../common/handover';
import { GROUP_TAG_KEY, type Settings } from './settings';

/** The IAM condition key that limits ModifyInstanceAttribute to the source/destination check. */
export const SOURCE_DEST_CHECK_CONDITION = 'ec2:Attribute/SourceDestCheck';

/** The controller's permissions: reads on `*` (no resource-level support), writes scoped. */
export function grantController(role: iam.Role, s: Settings, reportLog: dynamodb.ITable): void {
  const stack = Stack.of(role);
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'ObserveReadOnly',
      // Describe* support no resource-level permissions.
      actions: [
        'autoscaling:DescribeAutoScalingGroups',
        'ec2:DescribeInstances',
        'ec2:DescribeSubnets',
        'ec2:DescribeRouteTables',
        'ec2:DescribeAddresses',
        // Who owns a route target that no managed group lists (observe-route-owners.ts).
        'ec2:DescribeNetworkInterfaces',
      ],
      resources: ['*'],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'ReadReportLog',
      // What the NATs said (heartbeats, witness reports), read with consistent Queries; nothing else.
      actions: ['dynamodb:Query'],
      resources: [reportLog.tableArn],
    }),
  );
  const groupArn = stack.formatArn({
    service: 'autoscaling',
    resource: 'autoScalingGroup',
    resourceName: `*:autoScalingGroupName/${s.groupName}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'ActOnOwnGroup',
      actions: ['autoscaling:SetInstanceHealth', 'autoscaling:CompleteLifecycleAction'],
      resources: [groupArn],
    }),
  );
  const routeTableArn = stack.formatArn({ service: 'ec2', resource: 'route-table', resourceName: '*' });
  const vpcArn = stack.formatArn({ service: 'ec2', resource: 'vpc', resourceName: s.vpcId });
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'RouteOwnTaggedTablesInOwnVpc',
      actions: ['ec2:CreateRoute', 'ec2:ReplaceRoute'],
      resources: [routeTableArn],
      // This deployment's tag, and its own VPC: a table tagged by mistake elsewhere stays untouched.
      conditions: {
        StringEquals: { [`aws:ResourceTag/${s.routeTableTag.key}`]: s.routeTableTag.value },
        ArnEquals: { 'ec2:Vpc': vpcArn },
      },
    }),
  );
  const instanceArn = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
  const networkInterfaceArn = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' });
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'DisableSourceDestCheckOnOwnNats',
      actions: ['ec2:ModifyInstanceAttribute'],
      resources: [instanceArn],
      // ec2:Attribute/<name> (Service Authorization Reference, instance resource): the call may set
      // SourceDestCheck to false and no other attribute (not user data, type or security groups).
      conditions: {
        StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': s.groupName, [SOURCE_DEST_CHECK_CONDITION]: 'false' },
      },
    }),
  );
  if (s.handoverDrainSeconds > 0) {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TagOwnNatsForHandover',
        actions: ['ec2:CreateTags'],
        resources: [instanceArn],
        conditions: {
          StringEquals: { 'aws:ResourceTag/aws:autoscaling:groupName': s.groupName },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [HANDOVER_TAG_KEY] },
        },
      }),
    );
  }
  const allocations = Object.values(s.elasticIps);
  if (allocations.length > 0) {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AssociatePinnedAddresses',
        actions: ['ec2:AssociateAddress'],
        resources: allocations.map((a) => stack.formatArn({ service: 'ec2', resource: 'elastic-ip', resourceName: a })),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'AssociateAddressToOwnNats',
        actions: ['ec2:AssociateAddress'],
        resources: [instanceArn, networkInterfaceArn],
        conditions: { StringEquals: { [`aws:ResourceTag/${GROUP_TAG_KEY}`]: s.groupName } },
      }),
    );
  }
  const acknowledge = (finding: string, reason: string) =>
    Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  const resource = (arn: string) => `Resource::${renderForNag(stack, arn)}`;
  acknowledge('Resource::*', 'Only the read-only Describe* calls use "*": they support no resource-level permissions. Every mutating action is scoped by ARN or tag condition.');
  acknowledge(
    resource(groupArn),
    'The "*" is the group id, unknown until creation; the ARN names this one group.',
  );
  acknowledge(
    resource(routeTableArn),
    "Route tables are chosen at run time by their tag; the statement is conditioned on aws:ResourceTag of this deployment's tag and on ec2:Vpc, so only its own tagged tables in its own VPC can be changed.",
  );
  acknowledge(
    resource(instanceArn),
    "NAT instances come and go; the statements are conditioned on the instance's aws:autoscaling:groupName (or natbeat:group) tag, so only this group's NATs qualify (ModifyInstanceAttribute only for SourceDestCheck=false; CreateTags only for the one tag key natbeat:handover-from).",
  );
  if (allocations.length > 0) {
    acknowledge(
      resource(networkInterfaceArn),
      "NAT network interfaces come and go; the statement is conditioned on the natbeat:group tag the launch template puts on them.",
    );
  }
}

/**
 * Renders an ARN the way cdk-nag names it in a finding id (`Resource::…`): intrinsic references
 * become `<Name>` / `<Resource.Attribute>`, so acknowledgements hold in any stack environment.
 */
export function renderForNag(stack: Stack, value: unknown): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ('Ref' in o) return `<${String(o.Ref)}>`;
      if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
      if ('Fn::Join' in o) {
        const [separator, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(render).join(separator);
      }
    }
    return JSON.stringify(v);
  };
  return render(stack.resolve(value));
}
