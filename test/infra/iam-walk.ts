/**
 * Walks every policy statement in a synthesized template. Pure, so the IAM test can state its
 * rule in one place: no mutating action on Resource "*" without a Condition.
 */
export interface FoundStatement {
  /** Logical id and where in it the statement sits. */
  readonly where: string;
  readonly kind: 'identity' | 'resource' | 'key' | 'trust';
  readonly statement: Record<string, unknown>;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

function statementsOf(document: unknown): Record<string, unknown>[] {
  const statements = (document as { Statement?: unknown } | undefined)?.Statement;
  if (statements === undefined) return [];
  return (Array.isArray(statements) ? statements : [statements]) as Record<string, unknown>[];
}

export function policyStatements(template: { Resources?: Resources }): FoundStatement[] {
  const found: FoundStatement[] = [];
  const add = (where: string, kind: FoundStatement['kind'], document: unknown) => {
    statementsOf(document).forEach((statement, i) => found.push({ where: `${where}#${i}`, kind, statement }));
  };
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    const p = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
        add(`${id}.PolicyDocument`, 'identity', p.PolicyDocument);
        break;
      case 'AWS::IAM::Role':
        add(`${id}.AssumeRolePolicyDocument`, 'trust', p.AssumeRolePolicyDocument);
        for (const [i, inline] of ((p.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).entries()) {
          add(`${id}.Policies[${i}]`, 'identity', inline.PolicyDocument);
        }
        break;
      case 'AWS::SNS::TopicPolicy':
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SQS::QueuePolicy':
        add(`${id}.PolicyDocument`, 'resource', p.PolicyDocument);
        break;
      case 'AWS::KMS::Key':
        add(`${id}.KeyPolicy`, 'key', p.KeyPolicy);
        break;
      default:
        break;
    }
  }
  return found;
}

const READ_ONLY = /^[a-z0-9-]+:(Describe|Get|List|BatchGet|Head|Search|Lookup|Query|Select)[A-Za-z0-9]*\*?$/;

export function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function isMutating(action: string): boolean {
  return !READ_ONLY.test(action);
}

/** Statements that allow a mutating action on Resource "*" with no Condition. */
export function unscopedMutations(found: FoundStatement[]): FoundStatement[] {
  return found.filter(({ kind, statement }) => {
    // A trust policy allows sts:AssumeRole to a principal; a key policy's "*" is the key itself.
    if (kind === 'trust' || kind === 'key') return false;
    if (statement.Effect !== 'Allow' || statement.Condition !== undefined) return false;
    const actions = asList(statement.Action).map(String);
    const resources = asList(statement.Resource);
    const onEverything = resources.length === 0 || resources.some((r) => r === '*');
    return onEverything && actions.some(isMutating);
  });
}
