/** Dispatches a command line to its command and turns every failure into a message and an exit code. */
import { parseCommandLine, USAGE } from './args';
import { costCommand } from './commands/cost';
import { planCommand } from './commands/plan';
import { statusCommand } from './commands/status';
import { checkProfileExists } from './profile';
import { ExitCode, toCliError } from './errors';
import type { CliIo } from './io';
import { VERSION } from './version';

export async function run(argv: string[], io: CliIo): Promise<number> {
  let region: string | undefined;
  try {
    const parsed = parseCommandLine(argv);
    switch (parsed.command) {
      case 'help':
        io.stdout.write(USAGE + '\n');
        return ExitCode.ok;
      case 'version':
        io.stdout.write(VERSION + '\n');
        return ExitCode.ok;
      case 'cost':
        return costCommand(parsed, io);
      case 'status':
        region = parsed.region;
        await checkProfileExists(io.env);
        return await statusCommand(parsed, io);
      case 'plan':
        region = parsed.region;
        await checkProfileExists(io.env);
        return await planCommand(parsed, io);
    }
  } catch (error) {
    const cliError = toCliError(error, { region: region ?? io.env.AWS_REGION, endpoint: io.env.AWS_ENDPOINT_URL, profile: io.env.AWS_PROFILE });
    io.stderr.write(`natbeat: ${cliError.message}\n`);
    if (cliError.exitCode === ExitCode.usage) io.stderr.write('Run "natbeat help" for usage.\n');
    if (io.env.NATBEAT_DEBUG && cliError.cause instanceof Error) io.stderr.write(`${cliError.cause.stack ?? ''}\n`);
    // A script that asked for JSON reads stdout: give it the error there too, as an object.
    if (argv.includes('--json')) {
      io.stdout.write(`${JSON.stringify({ error: { message: cliError.message, exitCode: cliError.exitCode } }, null, 2)}\n`);
    }
    return cliError.exitCode;
  }
}
