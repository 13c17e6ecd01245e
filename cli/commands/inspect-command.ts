/** The part `status` and `plan` share: settings, clients, observe + decide, and the --group check. */
import { loadConfig, type ControllerConfig } from '../../lambdas/core/config';
import { CliError } from '../errors';
import { inspect, type Inspection } from '../inspect';
import type { CliIo } from '../io';

export interface InspectOptions {
  groups: string[];
  region?: string;
}

export async function runInspection(options: InspectOptions, io: CliIo): Promise<{ config: ControllerConfig; inspection: Inspection }> {
  const config = loadConfig(io.env);
  const clients = io.clients({ region: options.region, maxAttempts: config.maxAttempts });
  const inspection = await inspect(clients, config, io.now());
  const managed = inspection.snapshot.groups.map((g) => g.name);
  // A group whose instances could not be read is absent from the snapshot but reported as a failure.
  const unreadable = inspection.snapshot.failures.map((f) => f.scope);
  const unknown = options.groups.filter((g) => !managed.includes(g) && !unreadable.includes(g));
  if (unknown.length > 0) {
    throw new CliError(
      `--group ${unknown.join(', ')}: not a managed NAT group here; managed groups: ${managed.join(', ') || '(none could be read)'}`,
    );
  }
  return { config, inspection };
}
