/** The `natbeat` command: real streams, clock, environment and AWS clients. See docs/operations.md. */
import { createAwsClients } from '../lambdas/core/clients';
import { run } from './run';

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  now: () => new Date(),
  clients: (options) => createAwsClients(options),
});
