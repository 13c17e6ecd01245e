/** The intake's settings, from its environment (the construct sets them). */
import { REPORT_TABLE_ENV } from '../../common/report-store';
import { identityFromRoleArn, type IntakeIdentity } from '../core/caller-identity';

export const INTAKE_ENV = {
  natRoleArn: 'NATBEAT_NAT_ROLE_ARN',
  reconcileFunction: 'NATBEAT_RECONCILE_FUNCTION',
  groupNames: 'NATBEAT_GROUP_NAMES',
  reportTable: REPORT_TABLE_ENV,
} as const;

export interface IntakeSettings {
  identity: IntakeIdentity;
  reconcileFunction: string;
  groupNames: string[];
  /** The report log (DynamoDB table name) the intake appends to. */
  reportTable: string;
}

/** A DynamoDB table name: 3–255 of letters, digits, `_ . -`. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

export function intakeSettings(env: Record<string, string | undefined>): IntakeSettings | Error {
  const roleArn = env[INTAKE_ENV.natRoleArn] ?? '';
  const identity = identityFromRoleArn(roleArn);
  const reconcileFunction = (env[INTAKE_ENV.reconcileFunction] ?? '').trim();
  const groupNames = (env[INTAKE_ENV.groupNames] ?? '').split(',').map((g) => g.trim()).filter(Boolean);
  const reportTable = (env[INTAKE_ENV.reportTable] ?? '').trim();
  const problems = [
    ...(identity ? [] : [`${INTAKE_ENV.natRoleArn}=${JSON.stringify(roleArn)}: must be an IAM role ARN`]),
    ...(reconcileFunction ? [] : [`${INTAKE_ENV.reconcileFunction}: must name the reconcile function`]),
    ...(groupNames.length > 0 ? [] : [`${INTAKE_ENV.groupNames}: must list the managed groups`]),
    ...(TABLE_NAME.test(reportTable) ? [] : [`${INTAKE_ENV.reportTable}=${JSON.stringify(reportTable)}: must name the report log table`]),
  ];
  if (problems.length > 0 || !identity) return new Error(`Invalid intake configuration: ${problems.join('; ')}`);
  return { identity, reconcileFunction, groupNames, reportTable };
}
