/**
 * Command line parsing (node:util parseArgs, strict): unknown flags, missing values and bad numbers
 * are usage errors (exit 2) with a message that says what was expected.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CostInputError, resolveCostInputs, type CostInputs } from '../common/cost-model';
import { DEFAULT_HEARTBEAT_PERIOD_SECONDS } from '../common/heartbeat';
import { UsageError } from './errors';

export const USAGE = `Usage: natbeat <command> [options]

Commands:
  status     each NAT and private route table per group and AZ, and what the controller would alert on
  plan       dry run: the actions the controller would take now, each with its reason (changes nothing)
  cost       monthly cost model: natbeat vs a NAT Gateway per AZ, with its assumptions
  help       this text
  version    the version of natbeat (also --version)

Options for status and plan:
  --group NAME     only this Auto Scaling group (repeatable)
  --region REGION  AWS region (default: the SDK chain, e.g. AWS_REGION or the profile's region)
  --json           JSON for scripts instead of a table
  --color, --no-color
                   force colour on or off (default: on for a terminal, off when NO_COLOR is set)

Options for cost:
  --azs N              availability zones (default 3)
  --interval S         heartbeat period in seconds (default ${DEFAULT_HEARTBEAT_PERIOD_SECONDS})
  --nats-per-az N      NATs per AZ (default 1)
  --data-gb GB         traffic per AZ-month, which a NAT Gateway bills per GB (default 0)
  --instance-price USD NAT instance price per hour (default t4g.nano, 0.0042)
  --lambda-ms MS       average reconcile duration (default 400)
  --hours H            hours in a month (default 730)
  --dashboard          the construct's dashboard: true, billed as beyond an account's 3 free ones
  --encrypt-topic      the construct's encryptTopic: true (a KMS key and its rotations)
  --json               JSON for scripts

Settings come from the same NATBEAT_* environment variables as the controller (e.g.
NATBEAT_GROUP_NAMES, NATBEAT_GROUP_TAG_KEY, NATBEAT_ROUTE_TABLE_TAG); credentials and region from
the standard AWS chain (AWS_PROFILE, AWS_REGION, AWS_ACCESS_KEY_ID…).

Exit codes: 0 ok · 1 status found something the controller would alert on, or an error ·
2 usage or configuration error.`;

export type Command =
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'status' | 'plan'; groups: string[]; region?: string; json: boolean; color?: boolean }
  | { command: 'cost'; inputs: CostInputs; json: boolean };

const INSPECT_OPTIONS = {
  group: { type: 'string', multiple: true },
  region: { type: 'string' },
  json: { type: 'boolean' },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const COST_OPTIONS = {
  azs: { type: 'string' },
  interval: { type: 'string' },
  'nats-per-az': { type: 'string' },
  'data-gb': { type: 'string' },
  'instance-price': { type: 'string' },
  'lambda-ms': { type: 'string' },
  hours: { type: 'string' },
  dashboard: { type: 'boolean' },
  'encrypt-topic': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export function parseCommandLine(argv: string[]): Command {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') return { command: 'help' };
  if (name === 'version' || name === '--version' || name === '-v') return { command: 'version' };
  if (name === 'status' || name === 'plan') {
    const { values } = parse(name, rest, INSPECT_OPTIONS);
    if (values.help) return { command: 'help' };
    if (values.color && values['no-color']) throw new UsageError('--color and --no-color cannot both be given');
    const groups = values.group ?? [];
    for (const g of groups) if (g.trim() === '') throw new UsageError('--group needs a group name');
    if (values.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(values.region)) {
      throw new UsageError(`--region "${values.region}" is not a region name like us-east-1`);
    }
    return {
      command: name,
      groups,
      region: values.region,
      json: values.json ?? false,
      color: values.color ? true : values['no-color'] ? false : undefined,
    };
  }
  if (name === 'cost') {
    const { values } = parse(name, rest, COST_OPTIONS);
    if (values.help) return { command: 'help' };
    const inputs: CostInputs = {
      azs: number('--azs', values.azs) ?? 3,
      heartbeatPeriodSeconds: number('--interval', values.interval),
      natsPerAz: number('--nats-per-az', values['nats-per-az']),
      dataGbPerAzMonth: number('--data-gb', values['data-gb']),
      instanceHourUsd: number('--instance-price', values['instance-price']),
      lambdaAvgMs: number('--lambda-ms', values['lambda-ms']),
      hoursPerMonth: number('--hours', values.hours),
      billedDashboards: values.dashboard ? 1 : undefined,
      encryptTopic: values['encrypt-topic'],
    };
    checkCostInputs(inputs);
    return { command: 'cost', inputs, json: values.json ?? false };
  }
  throw new UsageError(`unknown command "${name}": expected status, plan, cost or help`);
}

function parse<O extends ParseArgsConfig['options']>(command: string, args: string[], options: O) {
  try {
    return parseArgs({ args: withNegativeValues(args, options), options, strict: true, allowPositionals: false });
  } catch (error) {
    // parseArgs' messages name the flag ("Unknown option '--foo'"); add which command was parsed.
    throw new UsageError(`${command}: ${(error as Error).message}`, {}, { cause: error });
  }
}

/**
 * parseArgs reads `--azs -3` as a flag with a missing value; a value that is a negative number is
 * meant as the value (and then gets the range message of its flag).
 */
function withNegativeValues(args: string[], options: ParseArgsConfig['options']): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const option = arg.startsWith('--') ? options?.[arg.slice(2)] : undefined;
    if (option?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

const COST_FLAGS: Partial<Record<keyof CostInputs, string>> = {
  azs: '--azs',
  heartbeatPeriodSeconds: '--interval',
  natsPerAz: '--nats-per-az',
  dataGbPerAzMonth: '--data-gb',
  instanceHourUsd: '--instance-price',
  lambdaAvgMs: '--lambda-ms',
  hoursPerMonth: '--hours',
};

/** Range checks of the cost model, reported with the flag's name instead of the input's. */
function checkCostInputs(inputs: CostInputs): void {
  try {
    resolveCostInputs(inputs);
  } catch (error) {
    if (!(error instanceof CostInputError)) throw error;
    const input = error.message.split(' ')[0] as keyof CostInputs;
    throw new UsageError(error.message.replace(input, COST_FLAGS[input] ?? input), {}, { cause: error });
  }
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number (got "${value}")`);
  return n;
}
