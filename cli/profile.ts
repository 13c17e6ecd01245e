/**
 * A named profile that is in neither AWS file would otherwise surface as "no credentials found":
 * check it up front, with the SDK's own loader (it honours AWS_CONFIG_FILE and
 * AWS_SHARED_CREDENTIALS_FILE), and say so.
 */
import { parseKnownFiles } from '@smithy/core/config';
import { CliError, ExitCode } from './errors';

export async function checkProfileExists(env: Record<string, string | undefined>): Promise<void> {
  const profile = env.AWS_PROFILE;
  // The SDK's chain uses a named profile even when keys are set too, so check it whenever it is set.
  if (!profile) return;
  const profiles = await parseKnownFiles({ ignoreCache: true, filepath: env.AWS_SHARED_CREDENTIALS_FILE, configFilepath: env.AWS_CONFIG_FILE });
  if (profile in profiles) return;
  const known = Object.keys(profiles);
  throw new CliError(
    `the AWS profile "${profile}" (AWS_PROFILE) does not exist in ${env.AWS_CONFIG_FILE ?? '~/.aws/config'} or ${env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials'}` +
      (known.length > 0 ? `; known profiles: ${known.join(', ')}` : '; no profiles are configured (`aws configure --profile NAME` creates one)'),
    ExitCode.alertOrError,
  );
}
