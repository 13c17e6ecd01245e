/**
 * IAM in the simulated account: every SDK call is made as a principal (the controller's role, the
 * intake's role, or a NAT's instance-role session), and the world refuses what that role's policy
 * does not grant, with the service's own access-denied error, before the call has any effect.
 * The grants mirror what infra/ deploys (design: the NAT role has no PutMetricData and no
 * DynamoDB access once heartbeats go through the intake). Denied calls are kept, so scenarios can
 * show that a compromised NAT tried and was refused.
 */
import type { Input } from './context';
import { awsError, type Service } from './errors';

export type Principal = { role: 'controller' } | { role: 'intake' } | { role: 'nat'; instanceId: string };

export const CONTROLLER: Principal = { role: 'controller' };
export const INTAKE: Principal = { role: 'intake' };
export const natPrincipal = (instanceId: string): Principal => ({ role: 'nat', instanceId });

export const ACCOUNT_ID = '123456789012';
/** The NAT instance role (its sessions are named after the instance). */
export const NAT_ROLE_NAME = 'natbeat-nat-role';
export const NAT_ROLE_ARN = `arn:aws:iam::${ACCOUNT_ID}:role/${NAT_ROLE_NAME}`;
export const sessionArnOf = (instanceId: string) => `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${NAT_ROLE_NAME}/${instanceId}`;

export interface IamPolicy {
  /** The NAT role may call PutMetricData (the heartbeat path before the intake took it over). */
  natMayPutMetricData: boolean;
  /** The NAT role may invoke the reconcile function itself (never, once there is an intake). */
  natMayInvokeReconcile: boolean;
  /** NATs' boot scripts of the takeover-at-boot baseline write their zone's routes. */
  natMayWriteRoutes: boolean;
}

const ACCESS_DENIED: Record<Service, [code: string, status: number]> = {
  ec2: ['UnauthorizedOperation', 403],
  autoscaling: ['AccessDenied', 403],
  cloudwatch: ['AccessDenied', 403],
  lambda: ['AccessDeniedException', 403],
  dynamodb: ['AccessDeniedException', 400],
};

const READ_ONLY_EC2 = /^Describe/;

export interface DeniedCall {
  at: number;
  principal: string;
  service: Service;
  command: string;
  /** What the call was about (instance dimension, table key), for assertions. */
  about?: string;
}

export class Iam {
  readonly denied: DeniedCall[] = [];

  constructor(
    private readonly policy: IamPolicy,
    private readonly now: () => number,
  ) {}

  /** Throws the service's access-denied error when `principal` may not make this call. */
  check(principal: Principal, service: Service, command: string, input: Input): void {
    if (this.allowed(principal, service, command)) return;
    const who = principal.role === 'nat' ? sessionArnOf(principal.instanceId) : `arn:aws:sts::${ACCOUNT_ID}:assumed-role/natbeat-${principal.role}/sim`;
    const about = aboutOf(service, input);
    this.denied.push({ at: this.now(), principal: principal.role === 'nat' ? principal.instanceId : principal.role, service, command, ...(about ? { about } : {}) });
    const [code, status] = ACCESS_DENIED[service];
    throw awsError(service, code, `User: ${who} is not authorized to perform: ${service}:${command} because no identity-based policy allows the ${service}:${command} action`, status);
  }

  private allowed(principal: Principal, service: Service, command: string): boolean {
    switch (principal.role) {
      case 'controller':
        // The reconcile role: EC2 and Auto Scaling as today, GetMetricData, Query on the log.
        return service === 'ec2' || service === 'autoscaling' || (service === 'cloudwatch' && command === 'GetMetricData') || (service === 'dynamodb' && command === 'Query');
      case 'intake':
        return (
          (service === 'autoscaling' && /^Describe/.test(command)) ||
          (service === 'ec2' && command === 'DescribeInstances') ||
          (service === 'dynamodb' && command === 'PutItem') ||
          (service === 'lambda' && command === 'Invoke')
        );
      case 'nat':
        return (
          (service === 'ec2' && (READ_ONLY_EC2.test(command) || (this.policy.natMayWriteRoutes && /^(ReplaceRoute|CreateRoute|ModifyInstanceAttribute)$/.test(command)))) ||
          (service === 'cloudwatch' && command === 'PutMetricData' && this.policy.natMayPutMetricData) ||
          (service === 'lambda' && command === 'Invoke' && this.policy.natMayInvokeReconcile)
        );
    }
  }
}

function aboutOf(service: Service, input: Input): string | undefined {
  if (service === 'dynamodb') return (input.Item?.pk?.S as string | undefined) ?? (input.TableName as string | undefined);
  if (service === 'cloudwatch') {
    const dims = (input.MetricData?.[0]?.Dimensions ?? []) as { Name?: string; Value?: string }[];
    return dims.find((d) => d.Name === 'InstanceId')?.Value;
  }
  return undefined;
}
