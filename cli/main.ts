/** The `natbeat` command: real streams, clock, environment and AWS clients. See docs/operations.md. */
import { createAwsClients } from '../lambdas/core/clients';
import { run } from './run';

// The SDK warns on Node < 22 that its releases after January 2027 will need Node 22. The CLI
// bundles the SDK version it was tested with, so the warning is not about this command; it would
// only bury the output. (The clients are created later, in run, and read the variable then.)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  now: () => new Date(),
  clients: (options) => createAwsClients(options),
});
