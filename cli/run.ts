/** Dispatches a command line to its command and turns every failure into a message and an exit code. */
import { parseCommandLine, USAGE } from './args';
import { costCommand } from './commands/cost';
import { planCommand } from './commands/plan';
import { statusCommand } from './commands/status';
import { ExitCode, toCliError } from './errors';
import type { CliIo } from './io';

export async function run(argv: string[], io: CliIo): Promise<number> {
  let region: string | undefined;
  try {
    const parsed = parseCommandLine(argv);
    switch (parsed.command) {
      case 'help':
        io.stdout.write(USAGE + '\n');
        return ExitCode.ok;
      case 'cost':
        return costCommand(parsed, io);
      case 'status':
        region = parsed.region;
        return await statusCommand(parsed, io);
      case 'plan':
        region = parsed.region;
        return await planCommand(parsed, io);
    }
  } catch (error) {
    const cliError = toCliError(error, { region: region ?? io.env.AWS_REGION });
    io.stderr.write(`natbeat: ${cliError.message}\n`);
    if (cliError.exitCode === ExitCode.usage) io.stderr.write('Run "natbeat help" for usage.\n');
    if (io.env.NATBEAT_DEBUG && cliError.cause instanceof Error) io.stderr.write(`${cliError.cause.stack ?? ''}\n`);
    return cliError.exitCode;
  }
}
