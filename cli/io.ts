/** What a command needs from the outside world; main.ts passes the real ones, tests their own. */
import type { AwsClients } from '../lambdas/core/clients';

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
  /** The clock, read once per command. */
  now: () => Date;
  /** Builds the AWS clients (region and credentials from the SDK chain unless given). */
  clients: (options: { region?: string; maxAttempts: number }) => AwsClients;
}
